//! `loadgate init URL`: write a commented starter scenario and make the baselines folder. Never
//! overwrites: an existing scenario file is an error and stays as it was.

use std::io::Write;

use crate::cli::InitArgs;
use crate::error::Error;
use crate::exit;
use crate::scenario::starter;

pub fn run(args: InitArgs) -> Result<u8, Error> {
    let mut s = starter::parse(&args.url).map_err(|e| Error::Flag {
        flag: "URL",
        problem: e.to_string(),
    })?;
    if let Some(name) = args.name {
        s.name = name;
    }
    let text = starter::commented_toml(&s);
    // The name must make a valid scenario (and a file name): checked on the text written.
    let env = |_: &str| None;
    crate::scenario::validate::from_toml(std::path::Path::new("--name"), &text, &env)?;
    let path = args.scenarios.join(format!("{}.toml", s.name));
    if path.exists() {
        return Err(Error::InitExists { path });
    }
    for dir in [&args.scenarios, &args.baselines] {
        std::fs::create_dir_all(dir).map_err(|source| Error::Init {
            path: dir.clone(),
            source,
        })?;
    }
    // `create_new`: should the file appear between the check and here, it is still not replaced.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::InitExists { path: path.clone() },
            _ => Error::Init {
                path: path.clone(),
                source,
            },
        })?;
    crate::pipeline::outputs::print(&format!("{}\n", path.display()))?;
    let p = path.display();
    eprintln!(
        "loadgate: wrote {p} (baselines go to {}/)\nnext:\n  loadgate run {p}      # try it, look at the latencies\n  loadgate record {p}   # record the baseline, then commit it\n  loadgate gate {p}     # gate every change (in CI)",
        args.baselines.display()
    );
    Ok(exit::PASS)
}
