//! The /proc sampler against real process groups: a busy shell with a busy child in its
//! group, beside an idle one.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anychat_top::collect::proc_usage::ProcUsageSampler;
use anychat_top::plan::EntryId;

/// A child in its own process group; the whole group is killed and the child reaped on drop.
struct Group(Child);

impl Group {
    fn spawn(script: &str) -> Group {
        let child = Command::new("sh")
            .args(["-c", script])
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        Group(child)
    }

    fn pgid(&self) -> i32 {
        i32::try_from(self.0.id()).expect("pid fits")
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: signalling the process group we created; its leader is not yet reaped.
        unsafe { libc::kill(-self.pgid(), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

#[test]
fn a_busy_group_is_summed_over_its_processes() {
    let busy = Group::spawn("while :; do :; done & while :; do :; done");
    let idle = Group::spawn("exec sleep 30");
    let groups = [(EntryId(0), busy.pgid()), (EntryId(1), idle.pgid())];
    let mut sampler = ProcUsageSampler::new();
    // Wait for the background loop to exist (two processes in the busy group).
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let sample = sampler.sample(&groups, Instant::now());
        if sample[0].1.processes == 2 || Instant::now() > deadline {
            break sample;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(first[0].1.processes, 2, "the shell and its background loop");
    assert_eq!(first[1].1.processes, 1);
    std::thread::sleep(Duration::from_millis(1000));
    let second = sampler.sample(&groups, Instant::now());
    let (busy_usage, idle_usage) = (second[0].1, second[1].1);
    let busy_cpu = busy_usage.cpu_percent.expect("two samples");
    let idle_cpu = idle_usage.cpu_percent.expect("two samples");
    // Two spinning processes on a shared machine: well above an idle one, at most 2 cores
    // (plus tick rounding).
    assert!(
        busy_cpu > 20.0 && busy_cpu < 230.0,
        "busy group at {busy_cpu}%"
    );
    assert!(idle_cpu < 5.0, "idle group at {idle_cpu}%");
    assert!(busy_usage.rss_bytes > 0 && idle_usage.rss_bytes > 0);
    // A group that does not exist has nothing.
    let none = sampler.sample(&[(EntryId(2), i32::MAX)], Instant::now());
    assert_eq!((none[0].1.processes, none[0].1.rss_bytes), (0, 0));
}
