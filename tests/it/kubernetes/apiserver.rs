//! A real API server for the strict dry-run: etcd plus `k8s.io/apiextensions-apiserver` (it serves
//! CustomResourceDefinitions and their resources with the same validation, pruning and CEL code
//! as kube-apiserver). Started per test in a temporary directory; ports 36443 (API) and
//! 36379/36380 (etcd) unless STACKCTL_K8S_PORT_BASE moves them (base+443, base+379, base+380).
//! The client is a certificate in `system:masters`, which the delegating authorizer always admits.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct ApiServer {
    etcd: Child,
    api: Child,
    dir: tempfile::TempDir,
    base: String,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.api.kill();
        let _ = self.api.wait();
        let _ = self.etcd.kill();
        let _ = self.etcd.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a client certificate in `system:masters` signed by it.
fn pki(dir: &Path) {
    let p = |f: &str| dir.join(f);
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.crt"))
        .args(["-days", "1", "-subj", "/CN=stackctl-test-ca"]));
    run(Command::new("openssl")
        .args(["req", "-newkey", "rsa:2048", "-nodes"])
        .arg("-keyout")
        .arg(p("client.key"))
        .arg("-out")
        .arg(p("client.csr"))
        .args(["-subj", "/O=system:masters/CN=stackctl-test"]));
    run(Command::new("openssl")
        .args(["x509", "-req"])
        .arg("-in")
        .arg(p("client.csr"))
        .arg("-CA")
        .arg(p("ca.crt"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .args(["-CAcreateserial", "-days", "1"])
        .arg("-out")
        .arg(p("client.crt")));
    // Delegated authn/authz need a kubeconfig; nothing answers there, so only the client
    // certificate (x509) and the system:masters group get in.
    std::fs::write(
        p("nowhere.kubeconfig"),
        "apiVersion: v1\nkind: Config\nclusters: [{name: none, cluster: {server: \"https://127.0.0.1:1\"}}]\n\
         users: [{name: none, user: {}}]\ncontexts: [{name: none, context: {cluster: none, user: none}}]\n\
         current-context: none\n",
    )
    .expect("writing the kubeconfig");
}

fn spawn(bin: &str, args: &[String], log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(bin)
        .args(args)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {bin}: {e}"))
}

impl ApiServer {
    pub fn start(etcd_bin: &str, api_bin: &str) -> ApiServer {
        let base: u16 = std::env::var("STACKCTL_K8S_PORT_BASE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(36000);
        let (api_port, client, peer) = (base + 443, base + 379, base + 380);
        let dir = tempfile::Builder::new()
            .prefix("stackctl-k8s-")
            .tempdir()
            .expect("temp dir");
        pki(dir.path());
        let d = |f: &str| dir.path().join(f).display().to_string();
        let etcd_args: Vec<String> = [
            "--name",
            "stackctl",
            "--data-dir",
            &d("etcd"),
            "--listen-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--advertise-client-urls",
            &format!("http://127.0.0.1:{client}"),
            "--listen-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-advertise-peer-urls",
            &format!("http://127.0.0.1:{peer}"),
            "--initial-cluster",
            &format!("stackctl=http://127.0.0.1:{peer}"),
        ]
        .map(String::from)
        .to_vec();
        let etcd = spawn(etcd_bin, &etcd_args, &dir.path().join("etcd.log"));
        let api_args: Vec<String> = [
            "--etcd-servers", &format!("http://127.0.0.1:{client}"),
            "--secure-port", &api_port.to_string(), "--bind-address", "127.0.0.1",
            "--cert-dir", &d("certs"), "--client-ca-file", &d("ca.crt"),
            "--authentication-kubeconfig", &d("nowhere.kubeconfig"),
            "--authorization-kubeconfig", &d("nowhere.kubeconfig"),
            "--kubeconfig", &d("nowhere.kubeconfig"), "--authentication-skip-lookup",
            // These plugins watch core resources (namespaces, webhooks), which this server lacks.
            "--disable-admission-plugins",
            "NamespaceLifecycle,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
        ]
        .map(String::from)
        .to_vec();
        let api = spawn(api_bin, &api_args, &dir.path().join("apiserver.log"));
        let server = ApiServer {
            etcd,
            api,
            dir,
            base: format!("https://127.0.0.1:{api_port}"),
        };
        server.wait_for(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Duration::from_secs(90),
        );
        server
    }

    /// GET until 200, or panic with the server's log tail.
    pub fn wait_for(&self, path: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, _) = self.request("GET", path, None);
            if status == 200 {
                return;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("apiserver.log"))
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                panic!(
                    "{path} did not answer 200 within {timeout:?} (last {status}); apiserver log:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// One HTTP request; (status, body as JSON or Null).
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let out_file = self.dir.path().join("response.json");
        let mut cmd = Command::new("curl");
        cmd.args(["-sk", "-X", method, "-o"])
            .arg(&out_file)
            .args(["-w", "%{http_code}"])
            .arg("--cert")
            .arg(self.dir.path().join("client.crt"))
            .arg("--key")
            .arg(self.dir.path().join("client.key"))
            .arg(format!("{}{path}", self.base));
        if let Some(body) = body {
            let body_file = self.dir.path().join("request.json");
            std::fs::write(&body_file, body.to_string()).expect("request body");
            cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(format!("@{}", body_file.display()));
        }
        let out = cmd.output().expect("running curl");
        let status: u16 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        let text = std::fs::read_to_string(&out_file).unwrap_or_default();
        let _ = std::fs::remove_file(&out_file);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Creates each CRD and waits until its resources are served.
    pub fn install_crds(&self, crds: &[Value]) {
        for crd in crds {
            let (status, body) = self.request(
                "POST",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                Some(crd),
            );
            assert_eq!(
                status, 201,
                "creating CRD {}: {body}",
                crd["metadata"]["name"]
            );
        }
        for crd in crds {
            let group = crd["spec"]["group"].as_str().expect("group");
            let plural = crd["spec"]["names"]["plural"].as_str().expect("plural");
            for v in crd["spec"]["versions"].as_array().expect("versions") {
                let version = v["name"].as_str().expect("version");
                self.wait_for(
                    &format!("/apis/{group}/{version}/{plural}"),
                    Duration::from_secs(60),
                );
            }
        }
    }

    /// `POST …?dryRun=All&fieldValidation=Strict` of a custom resource: (status, response).
    pub fn dry_run(&self, plural: &str, doc: &Value) -> (u16, Value) {
        let api = doc["apiVersion"].as_str().expect("apiVersion");
        let ns = doc["metadata"]["namespace"].as_str().expect("namespace");
        let path =
            format!("/apis/{api}/namespaces/{ns}/{plural}?dryRun=All&fieldValidation=Strict");
        self.request("POST", &path, Some(doc))
    }
}
