//! stackctl: provision and verify a secured Kafka / Schema Registry / Kafka Connect / ClickHouse
//! stack on Docker. Data flows one way: settings + secrets → render plan → files → engine →
//! running stack → verify report. See ARCHITECTURE.md.

pub mod bench;
pub mod cli;
pub mod clients;
pub mod commands;
pub mod compose;
pub mod engine;
pub mod fsutil;
pub mod kubernetes;
pub mod orchestrate;
pub mod progress;
pub mod render;
pub mod rotate;
pub mod secrets;
pub mod settings;
pub mod state;
pub mod verify;
