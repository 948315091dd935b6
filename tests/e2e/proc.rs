//! A `hearth headless` child process and a way to talk to it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// One running `hearth headless`.
pub(crate) struct Proc {
    pub(crate) name: String,
    child: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
    backlog: Vec<Value>,
    next_req: u64,
}

impl Proc {
    /// Starts `hearth headless --profile DIR ARGS…`, inside `wrapper` (say,
    /// `ip netns exec NS`) if given.
    pub(crate) fn start(name: &str, profile: &Path, args: &[&str], wrapper: &[&str]) -> Proc {
        Proc::start_with_env(name, profile, args, wrapper, &[])
    }

    /// [`Proc::start`] with extra environment variables (fault injection).
    pub(crate) fn start_with_env(
        name: &str,
        profile: &Path,
        args: &[&str],
        wrapper: &[&str],
        env: &[(&str, &str)],
    ) -> Proc {
        let binary = env!("CARGO_BIN_EXE_hearth");
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command
            .arg("headless")
            .arg("--profile")
            .arg(profile)
            .args(args)
            // HEARTH_E2E_LOG=hearth_net=debug,… shows a child's logs when debugging.
            .env(
                "HEARTH_LOG",
                std::env::var("HEARTH_E2E_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start hearth");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).expect("every stdout line is JSON");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Proc {
            name: name.into(),
            child,
            stdin,
            events,
            backlog: Vec::new(),
            next_req: 1,
        }
    }

    /// Writes a command without waiting; returns its `req`.
    pub(crate) fn send(&mut self, mut command: Value) -> u64 {
        let req = self.next_req;
        self.next_req += 1;
        command["req"] = json!(req);
        let mut line = command.to_string();
        line.push('\n');
        // A killed process has a closed stdin: the answer simply never comes.
        let _ = self.stdin.write_all(line.as_bytes());
        let _ = self.stdin.flush();
        req
    }

    /// Sends a command and waits for its answer.
    pub(crate) fn ask(&mut self, command: Value) -> Value {
        let req = self.send(command.clone());
        self.wait(&format!("the answer to {command}"), |e| {
            e["req"] == json!(req)
        })
    }

    /// Waits for an event matching `matches` (seen before or arriving within `WAIT`).
    pub(crate) fn wait(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        self.try_wait(WAIT, &matches)
            .unwrap_or_else(|| panic!("{}: no event {what}", self.name))
    }

    /// Like [`Proc::wait`], but gives up quietly after `timeout`.
    pub(crate) fn try_wait(
        &mut self,
        timeout: Duration,
        matches: &impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(i) = self.backlog.iter().position(matches) {
            return Some(self.backlog.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if matches(&event) => return Some(event),
                Ok(event) => self.backlog.push(event),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Every message text in the history, oldest first, with ids.
    pub(crate) fn history(&mut self) -> Vec<(String, String)> {
        let answer = self.ask(json!({"cmd": "history", "limit": 1000}));
        answer["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: history answer {answer}", self.name))
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap_or_default().to_string(),
                    m["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Kills the process with SIGKILL, as a crash or a pulled plug would.
    pub(crate) fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to quit and waits for it.
    pub(crate) fn quit(mut self) {
        self.send(json!({"cmd": "quit"}));
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets up a profile and pairs `joiner` with `inviter` by invite.
pub(crate) fn pair_by_invite(inviter: &mut Proc, joiner: &mut Proc) {
    let invite = inviter.ask(json!({"cmd": "invite"}));
    let code = invite["code"].as_str().expect("invite code").to_string();
    let paired = joiner.ask(json!({"cmd": "pair", "code": code}));
    assert_eq!(paired["event"], "paired", "{paired}");
    inviter.wait("paired", |e| e["event"] == "paired");
}

pub(crate) fn init(proc: &mut Proc, name: &str) {
    let status = proc.ask(json!({
        "cmd": "init", "name": name, "language": "sq", "time_zone": "Europe/Tirane"
    }));
    assert_eq!(status["event"], "status", "{status}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
