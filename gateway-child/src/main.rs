//! `tether-gateway`: moves the private environment out of `/proc/<pid>/environ` (re-executing
//! once) and takes the secrets out of it before any thread exists, parses the command line, and
//! runs [`tether_gateway::process::instance::main`] on a tokio runtime. Nothing else happens here.

use std::process::ExitCode;

use clap::Parser;
use tether_gateway::process::cli::Cli;

fn main() -> ExitCode {
    // First, while the process is single-threaded: private variables (provider keys, the
    // token) out of the environment the kernel shows in /proc/<pid>/environ, by re-executing
    // with only the public ones; then read and forget the token variables.
    let isolated = tether_gateway::process::environ::isolate();
    let mut env = tether_gateway::config::credentials::take_from_env();
    env.isolated = Some(isolated);
    let args = match Cli::try_parse() {
        Ok(cli) => cli.into_run_args(),
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tether-gateway")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tether-gateway: cannot start the async runtime: {e}");
            return ExitCode::from(tether_gateway::process::fatal::EXIT_FAILURE);
        }
    };
    let code = runtime.block_on(tether_gateway::process::instance::main(args, env));
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(code)
}
