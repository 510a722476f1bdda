import ArgumentParser

/// The `pptp` tool: one subcommand per job, each in its own file (`DecodeCommand.swift`, …). It parses flags,
/// calls the library and prints; the protocol work lives in the library targets.
@main
struct PPTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pptp",
        abstract:
            "A PPTP (RFC 2637) client, server and toolkit: connect, serve, decode and decrypt captures, probe servers.",
        discussion: """
            Subcommands are added one file each; run `pptp help <subcommand>` for the flags and exit codes of one.
            """,
        subcommands: [
            ServeCommand.self, ConnectCommand.self, StatusCommand.self, ProbeCommand.self, DemoCommand.self,
            DecodeCommand.self,
        ]
    )
}
