//! The fake Kubernetes API server of the tests (tests/fake_kube) as a program, so an independent
//! client (the machine's `kubectl`, a console started by hand) can talk to it:
//!
//!     cargo run --example fake_kube -- --dir /tmp/fake-kube
//!     KUBECONFIG=/tmp/fake-kube/kubeconfig kubectl get cronjobs
//!
//! It listens on a free port of 127.0.0.1, creates the demo registry's rendered CronJobs in
//! namespace `model-monitoring`, writes `<dir>/kubeconfig` with two contexts (`fake-ctx` →
//! `model-monitoring`, `fake-other` → `other-ns`), prints `ready KUBECONFIG=<path>` and serves
//! until SIGINT/SIGTERM. No Job controller runs here: created Jobs stay pending (the tests'
//! hooks stand in for it). Used by tests/kube/kubectl_fake.sh in `.ci/run`.

#[path = "../tests/fake_kube/mod.rs"]
mod fake_kube;

use std::io::Write;
use std::path::PathBuf;

fn usage() -> String {
    "usage: fake_kube --dir DIR [--namespace NS] [--empty]".into()
}

fn main() -> Result<(), String> {
    let mut dir: Option<PathBuf> = None;
    let mut namespace = "model-monitoring".to_string();
    let mut empty = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = Some(args.next().ok_or_else(usage)?.into()),
            "--namespace" => namespace = args.next().ok_or_else(usage)?,
            "--empty" => empty = true,
            _ => return Err(usage()),
        }
    }
    let dir = dir.ok_or_else(usage)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let fake = fake_kube::FakeKube::start(&namespace).await;
        if !empty {
            fake.apply_rendered_cronjobs();
        }
        fake.add_namespace("other-ns");
        let kubeconfig = fake.kubeconfig_with(
            &dir,
            &[("fake-ctx", &namespace), ("fake-other", "other-ns")],
        );
        println!(
            "ready KUBECONFIG={} server={}",
            kubeconfig.display(),
            fake.url()
        );
        let _ = std::io::stdout().flush();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(())
    })
}
