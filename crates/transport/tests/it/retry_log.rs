//! Every retry leaves one `warn` line with the wait and the reason.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use vaultref_transport::{RETRY_LOG_TARGET, RandomJitter, RetryOptions, RetryState, TokioTimer};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_retry_is_one_warning_with_the_wait_and_the_reason() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let options = RetryOptions {
            max_retries: 2,
            ..RetryOptions::default()
        };
        let jitter = RandomJitter::default();
        let mut state = RetryState::new(&options, &TokioTimer, &jitter);
        let request = "get secret on https://vault.example/";
        for _ in 0..3 {
            state.next_retry(
                &request,
                &"Key Vault answered HTTP 503",
                Some(Duration::from_millis(250)),
            );
        }
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains(RETRY_LOG_TARGET),
        "{text}"
    );
    assert!(
        lines[0].contains(
            "get secret on https://vault.example/: Key Vault answered HTTP 503; retrying in 250 ms (retry 1 of 2)"
        ),
        "{text}"
    );
    assert!(lines[1].contains("(retry 2 of 2)"), "{text}");
}
