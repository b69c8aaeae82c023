import App
import ArgumentParser
import OAuth

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "Manage OAuth clients (Seam is one).",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a client; prints its id and secret. The secret is shown only this once.")

        @Option(help: "Name shown to owners on the consent page.") var name: String
        @Option(name: .customLong("redirect-uri"), help: "An allowed redirect URI; repeat for several.")
        var redirectURIs: [String] = []
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let config = try options.configuration()
            let (client, secret) = try await withDatabase(config) { pool, _ in
                do {
                    return try await ClientStore(database: pool).create(name: name, redirectURIs: redirectURIs)
                } catch let error as ClientError {
                    throw ValidationError(error.description)
                }
            }
            print("client_id=\(client.id)")
            print("client_secret=\(secret)")
            print("(the secret is stored only as a hash: keep it now)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered clients (never their secrets).")
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let clients = try await withDatabase(try options.configuration()) { pool, _ in
                try await ClientStore(database: pool).list()
            }
            for client in clients {
                print("\(client.id)\t\(client.name)\t\(client.redirectURIs.joined(separator: " "))")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a client with its grants and tokens.")
        @Argument(help: "The client id.") var clientID: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let deleted = try await withDatabase(try options.configuration()) { pool, _ in
                try await ClientStore(database: pool).delete(id: clientID)
            }
            guard deleted else { throw ValidationError("no client with id \(clientID)") }
            print("deleted \(clientID)")
        }
    }
}
