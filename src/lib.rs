//! stackctl: provision and verify a secured Kafka / Schema Registry / Kafka Connect / ClickHouse
//! stack on Docker. Data flows one way: settings + secrets → render plan → files → engine →
//! running stack → verify report.

pub mod app;
pub mod cli;
pub mod clients;
pub mod compose;
pub mod config;
pub mod engine;
pub mod fsutil;
pub mod orchestrate;
pub mod output;
pub mod render;
pub mod rotate;
pub mod secrets;
pub mod verify;
