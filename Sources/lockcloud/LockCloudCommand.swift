import ArgumentParser

/// `lockcloud`: the server and its operator tools.
@main
struct LockCloudCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockcloud",
        abstract: "LockCloud, a Seam-compatible door lock API with an offline PIN registry.",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, OwnersCommand.self, ClientsCommand.self, DemoCommand.self,
            SimulateCommand.self, OfflineKeysCommand.self,
        ],
        defaultSubcommand: ServeCommand.self)
}
