//! Command-line definitions (clap derive). Parsing only; the work happens in [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::settings::Phase;

/// The highest phase, as the parser's default and range bound.
const MAX_PHASE: u8 = Phase::MAX.number();

#[derive(Debug, Parser)]
#[command(
    name = "stackctl",
    version,
    about = "Provision and verify a secured Kafka / Schema Registry / Kafka Connect / ClickHouse stack on Docker",
    long_about = "stackctl renders every security-relevant file (JAAS, client properties, Connect worker and \
connector config, ClickHouse users XML) from templates, drives the containers through the Docker Engine API, \
and proves the result with positive and negative authentication checks.\n\n\
Typical use:\n  stackctl init-secrets   # random per-principal credentials under secrets/, mode 0600\n  \
stackctl images build   # build the images from images/ (no registry needed)\n  \
stackctl up             # render, start in dependency order until healthy (phase 5)\n  \
stackctl verify         # positive and negative checks; JSON and JUnit for CI\n  \
stackctl down\n\n\
Exit codes: 0 success; 1 a verification check failed (or status: a service is down); 2 stackctl could \
not do what was asked (bad settings or secrets, Docker unreachable, usage error); 130 interrupted.",
    after_help = "Settings: configs/stack.yaml (non-secret). Secrets: secrets/*.password (git-ignored, 0600).\n\
Environment: STACKCTL_ROOT, STACKCTL_FORMAT and STACKCTL_COLOR set --root, --format and --color (an option \
on the command line wins); NO_COLOR, CLICOLOR_FORCE and TERM=dumb steer --color auto."
)]
pub struct Cli {
    /// Project root holding configs/stack.yaml and secrets/
    #[arg(
        long,
        global = true,
        env = "STACKCTL_ROOT",
        default_value = ".",
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// Output format of results on stdout. With json, an error is also printed on stdout as
    /// {"error": {"message": "...", "exit_code": 2}} (the exit code is unchanged)
    #[arg(long, global = true, env = "STACKCTL_FORMAT", value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// When to colour human output, per stream (auto: only on a terminal, never with NO_COLOR or
    /// TERM=dumb, always with CLICOLOR_FORCE)
    #[arg(long, global = true, env = "STACKCTL_COLOR", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Print no progress on stderr (results, warnings and errors still appear)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// What `render` renders for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderTarget {
    /// The Docker stack's mounted files
    Docker,
    /// Kubernetes manifests for the Strimzi and Altinity operators
    Kubernetes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a random secret for every principal that has none (existing ones are kept)
    #[command(
        long_about = "Creates secrets/<principal>.password for every Kafka and ClickHouse principal named in \
configs/stack.yaml: 40 random characters from a CSPRNG, written atomically with mode 0600 (directory 0700). \
Existing secrets are kept byte for byte; --force regenerates the named ones. Values are never printed. \
Refuses to run when secrets/ is not git-ignored or git tracks a file in it."
    )]
    InitSecrets {
        /// Regenerate this principal's secret (e.g. kafka-app, clickhouse-writer); repeatable
        #[arg(long, value_name = "PRINCIPAL")]
        force: Vec<String>,
    },

    /// Validate secrets, then render every mounted file for a security phase
    #[command(
        long_about = "Validates every secret first and stops on any problem (missing, empty, too short, \
placeholder, group/world-readable), naming the file and never the value. Then renders the broker \
server.properties, Kafka client properties, Schema Registry and Connect configs, the sink connector \
config and ClickHouse users XML for the phase. Files holding credentials are written 0600; files whose \
content did not change are left untouched.\n\n\
Phases (cumulative): 1 Kafka SASL/PLAIN everywhere; 2 ClickHouse auth and least privilege; \
3 secrets only as mounted files (hygiene enforced); 4 hardening (no topic auto-creation, limits); \
5 authorization (Kafka ACLs as declared, REST logins)."
    )]
    Render {
        /// Security phase to render
        #[arg(long, default_value_t = MAX_PHASE, value_parser = clap::value_parser!(u8).range(1..=MAX_PHASE as i64))]
        phase: u8,
        /// Output directory (default: .stackctl/rendered, or .stackctl/kubernetes for --target kubernetes)
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// What to render for: the Docker stack's mounted files, or Kubernetes manifests
        /// (Strimzi, Altinity clickhouse-operator; see docs/kubernetes.md)
        #[arg(long, value_enum, default_value_t = RenderTarget::Docker)]
        target: RenderTarget,
        /// Kubernetes namespace of every manifest (default: the project name); --target kubernetes only
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Also write the Secrets with their values (files 0600 under secrets/, never printed);
        /// without it they are only named, with the command that creates each. --target kubernetes only
        #[arg(long)]
        with_secrets: bool,
    },

    /// Build or list the stack's images
    #[command(subcommand)]
    Images(ImagesCommand),

    /// Render, then create and start the stack at a phase, in dependency order, until healthy
    #[command(
        long_about = "Validates secrets (fails closed), renders the files for the phase, makes sure every image \
exists (present, else pulled, else built from images/), creates the network and volumes, and starts the \
containers in dependency order (independent ones concurrently), waiting for each to be healthy. Then: the \
ClickHouse schema (as admin), explicit topics, the ACLs of configs/stack.yaml (phase 5: missing ones created, \
undeclared ones removed and reported), and the sink connector, waited on until RUNNING.\n\n\
Incremental: a container whose definition, image and files are unchanged is kept, so a second `up` takes \
seconds; changing a setting or the phase recreates only the services it touches. Data in volumes survives."
    )]
    Up {
        /// Only these services and what they depend on (default: all)
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// Security phase (1 Kafka auth, 2 ClickHouse auth, 3 secrets hygiene, 4 hardening, 5 authorization)
        #[arg(long, default_value_t = MAX_PHASE, value_parser = clap::value_parser!(u8).range(1..=MAX_PHASE as i64))]
        phase: u8,
        /// Recreate the containers even when nothing they are made of changed
        #[arg(long)]
        force_recreate: bool,
        /// Never build an image: fail, naming it, when one is missing (pulling is still tried)
        #[arg(long)]
        no_build: bool,
        #[command(flatten)]
        build: BuildOptions,
    },

    /// Stop and remove the stack's containers and network (found by label)
    Down {
        /// Also remove the stack's volumes (Kafka and ClickHouse data)
        #[arg(long)]
        volumes: bool,
        /// Also remove images: `local` = the images of services built from a recipe under images/
        /// (an image another container still uses is kept and named)
        #[arg(long, value_enum, value_name = "TYPE")]
        rmi: Option<RemoveImages>,
    },

    /// Start the stopped containers of these services (default: all), in dependency order, until healthy
    Start {
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
    },

    /// Stop the containers of these services (default: all), dependents first; `start` or `up` resumes them
    Stop {
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
    },

    /// Restart the containers of these services (default: all) and wait until healthy
    Restart {
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
    },

    /// Show the stack's services: state, health, phase, ports (exit 1 if one is down or unhealthy)
    #[command(visible_alias = "ps")]
    Status {
        /// Also list the rendered client config files (kcat -F, Java .properties, clickhouse-client)
        #[arg(long)]
        clients: bool,
    },

    /// Print the resolved model: project, phases and capabilities, services, principals (no secret)
    #[command(
        long_about = "Prints what stackctl will run, resolved from configs/stack.yaml and compose/docker-compose.yml \
for a phase: the project, every phase with its capabilities, each service with its image, recipe, published \
ports, resource limits, restart policy, dependencies and mounted files, and the principals by name and role. \
Never a secret: no secret file is read. YAML by default; JSON with --format json."
    )]
    Config {
        /// Resolve the services for this phase (limits apply from phase 4)
        #[arg(long, default_value_t = MAX_PHASE, value_parser = clap::value_parser!(u8).range(1..=MAX_PHASE as i64))]
        phase: u8,
    },

    /// Print services' logs with secret values redacted (all services when none is named)
    #[command(
        long_about = "Prints the logs of the named services, or of every service, each line prefixed with \
`SERVICE | ` when there is more than one (interleaved by time). Secret values are redacted on whole lines. \
With --format json, one JSON object per line: {\"service\": ..., \"line\": ...} (and \"time\" with --timestamps)."
    )]
    Logs {
        /// Services (kafka, schema-registry, connect, clickhouse); default: all
        #[arg(value_name = "SERVICE")]
        services: Vec<String>,
        /// Keep printing new lines
        #[arg(long, short)]
        follow: bool,
        /// Number of lines from the end, per service
        #[arg(long, default_value_t = 200)]
        tail: usize,
        /// Only lines since this time: RFC 3339 (2024-05-01T10:00:00Z), a Unix timestamp, or a
        /// duration back from now (90s, 10m, 1h30m, 2d)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Prefix each line with its time (RFC 3339, from the engine)
        #[arg(long, short)]
        timestamps: bool,
    },

    /// Run a command in a service's running container; exits with the command's exit code
    #[command(
        long_about = "Runs CMD in the service's running container through the Engine API (no TTY, no stdin; for an \
interactive shell use `docker exec -it`). Its stdout and stderr are printed on stackctl's stdout and stderr with \
secret values redacted, and stackctl exits with the command's exit code. With --format json: one object \
{\"service\", \"command\", \"exit_code\", \"stdout\", \"stderr\"}.\n\n\
Example: stackctl exec kafka -- /opt/kafka/bin/kafka-topics.sh --version"
    )]
    Exec {
        /// Service whose container runs the command
        service: String,
        /// The command and its arguments (after --)
        #[arg(required = true, last = true, value_name = "CMD")]
        command: Vec<String>,
    },

    /// Prove the running stack is secure and works: positive and negative checks, concurrently
    #[command(
        long_about = "Runs the verification suite against the running stack: every Kafka principal logs in; wrong \
password, unknown user and a client without SASL are refused by the broker's actual refusal; Schema Registry \
registers and reads back a schema; Connect's internal topics are compacted and the sink connector is RUNNING \
with no secret in its REST config; ClickHouse refuses missing, default and wrong credentials, readonly cannot \
write, writer cannot run DDL (each refusal matched on its error code); records produced to Kafka arrive in \
ClickHouse exactly once, and a malformed record goes to the dead-letter topic; no secret value appears in tracked \
files, container environments, logs or images; from phase 5 each principal is refused outside its ACLs with the \
broker's authorization error and the REST APIs refuse missing or wrong logins. Posture checks read what the \
running containers really hold (listener principals, super users, each service's login, ClickHouse users, \
published ports, limits, restart policies, images, REST logins) and fail on anything more than declared; \
--posture writes that as a record, --baseline fails on any widening since one.\n\n\
Checks below their required phase report failures as warnings. Exit codes: 0 every required check passed; \
1 a required check failed; 2 the suite could not run (stack down, Docker unreachable, bad secrets)."
    )]
    Verify {
        /// Phase to verify against (default: the phase the running containers were made for, else the one `up` last recorded)
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=MAX_PHASE as i64))]
        phase: Option<u8>,
        /// Run only these checks or groups (e.g. kafka, clickhouse.writer.refuse-drop, kafka.login.*); repeatable
        #[arg(long, value_name = "ID|GROUP")]
        only: Vec<String>,
        /// Skip these checks or groups; repeatable
        #[arg(long, value_name = "ID|GROUP")]
        skip: Vec<String>,
        /// Also write a JUnit XML report to FILE
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write the observed posture (listeners, principals, super users, ACLs, ClickHouse
        /// users, published ports, limits, images, rendered-file hashes; no secret) as JSON to FILE
        #[arg(long, value_name = "FILE")]
        posture: Option<PathBuf>,
        /// Compare the live posture with a saved `--posture` record and fail (check
        /// posture.baseline) on any widening, listing each difference
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// List the checks (id, group, kind, required from phase) and exit
        #[arg(long)]
        list: bool,
    },

    /// Rotate credentials: new secrets, restart exactly the services holding them, prove it
    #[command(
        long_about = "Generates new secrets for the named principals (or --all) and writes them atomically, keeping \
the old values aside in secrets/.previous/ until the rotation is proven. Re-renders, restarts exactly the \
services whose files hold a changed credential, in dependency order (the broker before its clients, ClickHouse \
before the connector), waits until healthy, then proves it: each new credential is accepted, each old one is \
refused, and records still flow from Kafka to ClickHouse. Only then are the old values removed. Data in Kafka \
topics and ClickHouse tables is kept.\n\nPrincipals: kafka-admin, kafka-schema_registry, kafka-connect, kafka-app, \
clickhouse-admin, clickhouse-writer, clickhouse-readonly (as named in configs/stack.yaml)."
    )]
    Rotate {
        /// Principals to rotate (e.g. kafka-app clickhouse-writer)
        principals: Vec<String>,
        /// Rotate every principal (the emergency procedure after a suspected leak)
        #[arg(long, conflicts_with = "principals")]
        all: bool,
        /// Print which files and services would change, in order, and touch nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        build: BuildOptions,
    },

    /// Load-test the running pipeline: produce records as app, wait until ClickHouse holds them all
    #[command(
        long_about = "Produces records to the data topic as the application principal (a count, a rate, or until \
Ctrl-C), with a progress line on stderr, and watches them arrive in ClickHouse. Reports producer throughput, \
end-to-end rows/s (first send until ClickHouse holds every record), produce-to-visible latency percentiles \
(p50/p95/p99/max, resolution 100 ms), and late, lost and duplicated rows, counted by the run id (duplicates \
exactly, by each row's Kafka topic, partition and offset). It waits until every record arrived or --wait \
passed. Exit code 1 only when a record never arrived (late rows are reported, not failed)."
    )]
    Bench {
        /// Records to produce
        #[arg(
            long,
            short = 'n',
            default_value_t = 10_000,
            conflicts_with = "unbounded"
        )]
        records: u64,
        /// Produce until Ctrl-C instead of a count
        #[arg(long)]
        unbounded: bool,
        /// Bytes per record value (JSON, one row of the table)
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(80..=1_000_000))]
        size: u64,
        /// Offered load in records per second (default: as fast as possible)
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        rate: Option<u64>,
        /// After producing ended: rows that arrive only after nothing arrived for this many
        /// seconds are reported as late (not lost)
        #[arg(long, default_value_t = 30, value_name = "SECONDS")]
        idle_timeout: u64,
        /// Longest wait, after producing ended, for every record to arrive; what has not arrived
        /// by then is lost (exit code 1)
        #[arg(long = "wait", default_value_t = 300, value_name = "SECONDS")]
        wait_bound: u64,
    },

    /// Print a shell completion script (a script, so --format json is refused)
    Completions {
        /// Shell to generate completions for
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Build the images of recipes under images/ that are missing, concurrently (layer cache reused)
    #[command(
        long_about = "Builds each service's image from its recipe (images/<service>/) through the Docker Engine \
API, tagged with the recipe's identity: the configured tag (configs/stack.yaml) plus the first 12 hex digits \
of a SHA-256 over the recipe directory, its build arguments and the images it starts FROM \
(stackctl/kafka:4.3.1-0123456789ab), and labelled io.stackctl.recipe=<full digest>. An image whose identity \
is present is not built again; independent recipes build concurrently (two at a time on two cores), a \
recipe built FROM another service's image after it. When the base debian:bookworm-slim is neither present \
nor pullable it is bootstrapped with debootstrap (needs root). Extra CA certificates are added to the build \
so downloads work behind an intercepting proxy (default: the host's /usr/local/share/ca-certificates)."
    )]
    Build {
        /// Services to build (default: all with a recipe)
        services: Vec<String>,
        #[command(flatten)]
        build: BuildOptions,
    },
    /// List the stack's images: service, tag (the recipe's identity), present or not, size, recipe
    List,
    /// Write the recipes' images (and their base) to DIR in Docker's archive format, named by identity
    #[command(
        long_about = "Writes the images of the recipes' identities and the base image they start from into one \
archive in Docker's format (`docker save`), DIR/images-<identity>.tar, layers stored once, plus \
DIR/stackctl-images.json naming the identities. Archives this command wrote earlier into DIR are replaced. \
For a CI cache: restore DIR, `stackctl images load DIR`, then `up` builds nothing."
    )]
    Save {
        /// Directory to write (created when missing)
        dir: PathBuf,
    },
    /// Load the images `images save` wrote to DIR, when they match the recipes here
    #[command(
        long_about = "Reads DIR/stackctl-images.json and loads its archive when it holds an image of one of the \
recipes' identities that is missing here. The archive is not loaded when the base image here differs from the \
one it was saved with (its identities cannot match: `images build` builds them). Prints each service's \
image and whether it is present now; `up --no-build` then starts from them."
    )]
    Load {
        /// Directory written by `stackctl images save`
        dir: PathBuf,
    },
}

/// What `down --rmi` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemoveImages {
    /// The images of services built from a recipe under images/
    Local,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BuildOptions {
    /// Do not add the host's extra CA certificates to image builds
    #[arg(long)]
    pub no_host_ca: bool,
    /// Add this CA certificate (PEM) to image builds; repeatable
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Show every build and start-up line
    #[arg(long, short)]
    pub verbose: bool,
}
