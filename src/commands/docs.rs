//! `loadgate completions SHELL` and `loadgate man`: the command line's own description, rendered
//! as a shell completion script or a roff man page. The only module that knows clap_complete and
//! clap_mangen.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Error;
use crate::exit;

/// Prints the completion script for the shell asked for.
pub fn completions(args: CompletionsArgs) -> Result<u8, Error> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "loadgate", &mut script);
    crate::pipeline::outputs::print(&String::from_utf8_lossy(&script))?;
    Ok(exit::PASS)
}

/// Prints the man page (roff) of `loadgate` and, one after the other, of each subcommand.
pub fn man() -> Result<u8, Error> {
    let page = render_man().map_err(Error::Stdout)?;
    crate::pipeline::outputs::print(&page)?;
    Ok(exit::PASS)
}

fn render_man() -> std::io::Result<String> {
    let cmd = Cli::command();
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut roff)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("loadgate-{}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(name.clone())
            .bin_name(name.replace('-', " "))
            .version(env!("CARGO_PKG_VERSION"));
        clap_mangen::Man::new(sub).title(name).render(&mut roff)?;
    }
    Ok(String::from_utf8_lossy(&roff).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_man_page_documents_every_subcommand() -> std::io::Result<()> {
        let page = render_man()?;
        assert!(
            page.starts_with(".ie \\n(.g .ds Aq"),
            "roff: {}",
            &page[..40]
        );
        for sub in ["run", "gate", "record", "compare", "completions"] {
            assert!(page.contains(&format!(".TH loadgate-{sub} 1")), "{sub}");
        }
        Ok(())
    }
}
