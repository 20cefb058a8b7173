//! Integration tests of the `vaultref` binary: each test runs the built executable.

mod airflow;
mod airflow_interop;
mod catalog;
mod check;
mod container;
mod databases;
mod delete;
mod deploy_manifests;
mod emulator;
mod entities;
mod faults;
mod fernet;
mod hardening;
mod hygiene;
mod integrity;
mod openmetadata_tables;
mod operator;
mod property;
mod python_interop;
mod resolve;
mod resolve_workflow;
mod secret;
mod support;
mod unreachable;
mod vault;
