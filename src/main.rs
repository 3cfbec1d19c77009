use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lawline::configuration::Settings;
use lawline::startup::Application;
use lawline::{cli, telemetry};

/// lawline: the public-legal-service assistant behind a WeChat official account.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Settings file (default: ./lawline.toml when present). LAWLINE_* variables override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve,
    /// Validate the knowledge base in faq/; prints each problem as file:line and exits 1 on any.
    Check,
    /// Ask the bot directly, without a server or WeChat.
    Ask {
        /// One or more messages, answered in turn as one conversation.
        #[arg(required = true)]
        messages: Vec<String>,
        /// Also print the search decision and the ranked entries.
        #[arg(long)]
        explain: bool,
    },
    /// Sign and post a text message to a running server, as WeChat does, and print the reply.
    Send {
        text: String,
        #[arg(long, default_value = "http://127.0.0.1:8080/wechat")]
        url: String,
        #[arg(long, default_value = "oTryLawlineUser0001")]
        openid: String,
    },
    /// Evaluate retrieval on a JSONL file of {"q": ..., "expect": "entry-id" | "none"}.
    Eval {
        file: PathBuf,
        /// Print one JSON object instead of the report.
        #[arg(long)]
        json: bool,
        /// Exit 1 when top-1 accuracy is below this share (0..1).
        #[arg(long)]
        min_top1: Option<f64>,
        /// Exit 1 when recall@3 is below this share.
        #[arg(long)]
        min_recall3: Option<f64>,
        /// Exit 1 when the out-of-scope rejection rate is below this share.
        #[arg(long)]
        min_oos_rejection: Option<f64>,
        /// Evaluate plain BM25 over jieba (no normalisation, synonyms, pinyin or thresholds).
        #[arg(long)]
        baseline: bool,
        /// Try a grid of decision thresholds and print the best settings.
        #[arg(long)]
        sweep: bool,
    },
    /// Retrieval on the public legal Q&A data (LeCoQA, LawBench 3-8): index the answers, query
    /// with the questions; recall@1/@5 and MRR for lawline's analyser and for plain BM25.
    EvalPublic {
        #[arg(long, default_value = "../shared/data/legal-qa")]
        data: PathBuf,
    },
    /// Import a question/answer set (CSV with a header row, or JSON lines) as entry files.
    Import {
        file: PathBuf,
        /// Folder for the new entry files.
        #[arg(long, default_value = "faq/entries/imported")]
        out: PathBuf,
        /// Id prefix of the new entries.
        #[arg(long, default_value = "imported")]
        prefix: String,
        /// Category of rows that have none.
        #[arg(long, default_value = "常见问题")]
        category: String,
    },
    /// Ask a running server to reload faq/ now; prints the result or every problem.
    Reload {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Adviser and admin accounts for the console.
    Adviser {
        #[command(subcommand)]
        action: AdviserAction,
    },
    /// WeChat's custom menu.
    Menu {
        #[command(subcommand)]
        action: MenuAction,
    },
}

#[derive(Subcommand)]
enum AdviserAction {
    /// Create an account (or reset an existing one's name, role, town and password). The
    /// password is read from standard input, never from the command line.
    Add {
        username: String,
        /// The name residents and colleagues see.
        #[arg(long)]
        name: String,
        /// adviser or admin.
        #[arg(long, default_value = "adviser")]
        role: String,
        /// The town (street) workstation the adviser belongs to, by its id in directory.toml.
        #[arg(long)]
        town: Option<String>,
        /// Read the password from standard input without prompting (for scripts).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
    /// Deactivate an account and end its sessions.
    Remove { username: String },
}

#[derive(Subcommand)]
enum MenuAction {
    /// Create the menu from a JSON file in WeChat's format.
    Create {
        #[arg(long, default_value = "faq/menu.json")]
        file: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    telemetry::init();
    let result = async {
        let settings = Settings::load(args.config.as_deref())?;
        match args.command {
            Command::Serve => {
                let app = Application::build(settings.clone()).await?;
                let addr = format!(
                    "http://{}:{}",
                    settings.listen.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1"),
                    app.port()
                );
                println!("lawline listening on {addr} (webhook {addr}/wechat, health {addr}/healthz)");
                app.run_until_stopped().await?;
            }
            Command::Check => {
                if !cli::check(&settings.faq_dir) {
                    return Ok(ExitCode::FAILURE);
                }
            }
            Command::Ask { messages, explain } => cli::ask(&settings, &messages, explain)?,
            Command::Eval { file, json, min_top1, min_recall3, min_oos_rejection, baseline, sweep } => {
                let gates = [("top1", min_top1), ("recall3", min_recall3), ("oos_rejection", min_oos_rejection)];
                let mode = match (baseline, sweep) {
                    (true, _) => cli::EvalMode::Baseline,
                    (_, true) => cli::EvalMode::Sweep,
                    _ => cli::EvalMode::Normal,
                };
                if !cli::eval(&settings, &file, json, &gates, mode)? {
                    return Ok(ExitCode::FAILURE);
                }
            }
            Command::EvalPublic { data } => cli::eval_public(&settings, &data)?,
            Command::Import { file, out, prefix, category } => cli::import(&file, &out, &prefix, &category)?,
            Command::Reload { url } => {
                if !cli::reload(&settings, &url).await? {
                    return Ok(ExitCode::FAILURE);
                }
            }
            Command::Send { text, url, openid } => cli::send(&settings, &url, &openid, &text).await?,
            Command::Adviser { action } => match action {
                AdviserAction::Add { username, name, role, town, password_stdin } => {
                    cli::adviser_add(&settings, &username, &name, &role, town.as_deref(), password_stdin).await?
                }
                AdviserAction::List => cli::adviser_list(&settings).await?,
                AdviserAction::Remove { username } => cli::adviser_remove(&settings, &username).await?,
            },
            Command::Menu { action: MenuAction::Create { file } } => cli::create_menu(&settings, &file).await?,
        }
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    }
    .await;
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}
