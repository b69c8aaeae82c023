import App
import ArgumentParser
import Foundation
import OAuth

/// The contract's demo data: owners alice and bob (password lockcloud-demo) and client
/// `seam` / `seamsecret`. Only loaded when asked for (`make run` does); safe to run again.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Load the demo owners and the demo Seam client (idempotent).")

    static let owners = ["alice@example.com", "bob@example.com"]
    static let password = "lockcloud-demo"
    static let seamRedirectURIs = ["https://connect.getseam.com/oauth/callback", "http://localhost:3020/oauth/callback"]

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let config = try options.configuration()
        try await withDatabase(config) { pool, logger in
            let owners = OwnerStore(database: pool, hasher: PasswordHasher(cost: UInt8(config.bcryptCost)))
            for email in Self.owners {
                do {
                    let owner = try await owners.create(email: email, password: Self.password)
                    print("demo owner \(email) user_id=\(owner.id.uuidString.lowercased())")
                } catch OwnerError.emailTaken {
                    print("demo owner \(email) already exists")
                }
            }
            do {
                _ = try await ClientStore(database: pool).create(
                    name: "Seam", redirectURIs: Self.seamRedirectURIs, clientID: "seam", secret: "seamsecret")
                print("demo client seam (secret seamsecret)")
            } catch ClientError.clientIDTaken {
                print("demo client seam already exists")
            }
        }
    }
}
