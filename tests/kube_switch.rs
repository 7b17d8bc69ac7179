//! Switching the Kubernetes context and namespace at run time, and suspending / resuming a
//! model's CronJob, through the [`Orchestrator`] trait (what the console's `:ctx`, `:ns` and `S`
//! call) against the fake API server (tests/fake_kube) with a generated kubeconfig of two
//! contexts: `fake-ctx` (namespace `model-monitoring`) and `fake-other` (namespace
//! `other-ns`), both on the fake. The fake does no RBAC: the 403 is its `forbid` hook.
//!
//! One test in this binary: it points `KUBECONFIG` at the generated file (process-wide), as
//! the console reads it.

mod fake_kube;

use std::time::Duration;

use driftdeck::domain::ModelId;
use driftdeck::orchestrator::kubernetes::{KubeOrchestrator, KubernetesSettings};
use driftdeck::orchestrator::{
    JobRequest, JobSpec, NoOrchestrator, Orchestrator, OrchestratorError, TargetKind,
};
use fake_kube::FakeKube;

const NS: &str = "model-monitoring";
const OTHER: &str = "other-ns";

async fn suspended(o: &KubeOrchestrator) -> Vec<(String, bool)> {
    o.schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.model, s.suspended))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_and_namespaces_switch_and_cronjobs_suspend() {
    let fake = FakeKube::start(NS).await;
    let other = fake.namespaced(OTHER);
    fake.insert_cronjob("jfk_delay", "airports");
    other.insert_cronjob("ewr_delay", "airports");
    fake.add_namespace("empty-ns");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake.kubeconfig_with(dir.path(), &[("fake-ctx", NS), ("fake-other", OTHER)]);
    // SAFETY: the only test of this binary; set before any thread reads the environment.
    unsafe { std::env::set_var("KUBECONFIG", &kubeconfig) };

    let o = KubeOrchestrator::lazy(KubernetesSettings::default()).unwrap();
    assert_eq!(o.location().as_deref(), Some("fake-ctx/model-monitoring"));
    let mut events = o.subscribe();

    // The lists the picker shows.
    assert_eq!(
        o.targets(TargetKind::Context).await.unwrap(),
        ["fake-ctx", "fake-other"]
    );
    assert_eq!(
        o.targets(TargetKind::Namespace).await.unwrap(),
        ["empty-ns", NS, OTHER]
    );

    // Suspend and resume the model's CronJob: spec.suspend on the server, seen by schedules().
    assert_eq!(suspended(&o).await, [("jfk_delay".to_string(), false)]);
    let jfk = ModelId::new("jfk_delay").unwrap();
    o.set_suspended(jfk.clone(), true).await.unwrap();
    assert_eq!(
        fake.get("cronjobs", "jfk-delay-cronjob").unwrap()["spec"]["suspend"],
        true
    );
    assert_eq!(suspended(&o).await, [("jfk_delay".to_string(), true)]);
    o.set_suspended(jfk.clone(), false).await.unwrap();
    assert_eq!(suspended(&o).await, [("jfk_delay".to_string(), false)]);
    // A model without a CronJob: the reason, no change.
    let err = o
        .set_suspended(ModelId::new("lga_delay").unwrap(), true)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no CronJob for model lga_delay"),
        "{err}"
    );

    // Switch the context: its kubeconfig namespace comes with it; the CronJobs, new Jobs and
    // the watch are the other namespace's.
    let label = o
        .switch_target(TargetKind::Context, "fake-other".into())
        .await
        .unwrap();
    assert_eq!(label, "fake-other/other-ns");
    assert_eq!(o.location().as_deref(), Some("fake-other/other-ns"));
    assert_eq!(suspended(&o).await, [("ewr_delay".to_string(), false)]);
    let job = o
        .submit(JobRequest {
            spec: JobSpec::Run {
                model: ModelId::new("ewr_delay").unwrap(),
                date: chrono::NaiveDate::from_ymd_opt(2013, 11, 30),
            },
            triggered_by: "ana".into(),
        })
        .await
        .unwrap();
    assert_eq!(other.list("jobs").len(), 1, "the Job is in {OTHER}");
    assert!(fake.list("jobs").is_empty());
    assert!(
        job.log.as_str().starts_with("k8s:other-ns/job/"),
        "{}",
        job.log
    );
    // the watch follows the new target: a pod starting there is an event
    other.start_pod(job.id.as_str());
    let running = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let ev = events.recv().await.unwrap();
            if ev.job.id == job.id && ev.job.state == driftdeck::orchestrator::JobState::Running {
                return ev;
            }
        }
    })
    .await
    .expect("a Running event for the Job in the new namespace");
    assert_eq!(
        running.job.spec.model().map(ModelId::as_str),
        Some("ewr_delay")
    );

    // Switch the namespace within the context.
    let label = o
        .switch_target(TargetKind::Namespace, NS.into())
        .await
        .unwrap();
    assert_eq!(label, "fake-other/model-monitoring");
    assert_eq!(suspended(&o).await, [("jfk_delay".to_string(), false)]);

    // Refusals leave the orchestrator where it was: an unknown context, a namespace that is
    // not a DNS-1123 label, a namespace whose CronJobs may not be listed (403).
    let err = o
        .switch_target(TargetKind::Context, "prod-eks".into())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("context \"prod-eks\" is not in the kubeconfig")
            && err.to_string().contains("fake-ctx, fake-other"),
        "{err}"
    );
    let err = o
        .switch_target(TargetKind::Namespace, "Bad_NS".into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DNS-1123"), "{err}");
    fake.forbid("list", "cronjobs");
    let err = o
        .switch_target(TargetKind::Namespace, OTHER.into())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    assert_eq!(o.location().as_deref(), Some("fake-other/model-monitoring"));

    // 403 on the namespace list: the reason, not a crash (the console then lets a name be typed).
    fake.forbid("list", "namespaces");
    let err = o.targets(TargetKind::Namespace).await.unwrap_err();
    assert!(
        err.to_string().contains("403") && err.to_string().contains("namespaces is forbidden"),
        "{err}"
    );
}

/// With the local runner (or none) there is nothing to switch or suspend: the error says so.
#[tokio::test]
async fn orchestrators_without_targets_say_so() {
    let none = NoOrchestrator;
    match none.targets(TargetKind::Context).await {
        Err(OrchestratorError::Unavailable(m)) => {
            assert!(m.contains("kind = \"kubernetes\""), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        none.switch_target(TargetKind::Namespace, "x".into()).await,
        Err(OrchestratorError::Unavailable(_))
    ));
    assert!(none.schedules().await.unwrap().is_empty());
    assert!(matches!(
        none.set_suspended(ModelId::new("m").unwrap(), true).await,
        Err(OrchestratorError::Unavailable(_))
    ));
}
