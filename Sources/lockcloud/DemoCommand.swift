import App
import ArgumentParser
import Foundation
import LockSimulator
import Locks
import OAuth

/// The contract's demo data: owners alice and bob (password lockcloud-demo) and client
/// `seam` / `seamsecret`. Only loaded when asked for (`make run` does); safe to run again.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Load the demo owners and the demo Seam client (idempotent).")

    static let owners = ["alice@example.com", "bob@example.com"]
    static let password = "lockcloud-demo"
    static let seamRedirectURIs = ["https://connect.getseam.com/oauth/callback", "http://localhost:3020/oauth/callback"]

    @Option(help: "Write the demo locks' device credentials here (JSON) for `lockcloud simulate`; credentials are re-issued.")
    var simulatorCredentials: String?

    @OptionGroup var options: CommonOptions

    static let locksPerOwner = ["Front door", "Back door", "Garage"]

    func run() async throws {
        let config = try options.configuration()
        try await withDatabase(config) { pool, logger in
            let owners = OwnerStore(database: pool, hasher: PasswordHasher(cost: UInt8(config.bcryptCost)))
            var credentials: [LockSimulator.LockCredential] = []
            let locks = simulatorCredentials == nil ? nil : LockStore(database: pool, sealer: try Self.sealer(config))
            for email in Self.owners {
                let owner: Owner
                do {
                    owner = try await owners.create(email: email, password: Self.password)
                    print("demo owner \(email) user_id=\(owner.id.uuidString.lowercased())")
                } catch OwnerError.emailTaken {
                    owner = try await owners.find(email: email)!
                    print("demo owner \(email) already exists")
                }
                guard let locks else { continue }
                // Three locks of the default model (online and offline codes) per demo owner.
                var page = try await locks.list(ownerID: owner.id, limit: 1000, cursor: nil).locks
                for name in Self.locksPerOwner.dropFirst(page.count) {
                    page.append(try await locks.pair(
                        ownerID: owner.id, name: name, model: nil, timezone: "Europe/Berlin", address: "1 Demo Street").lock)
                }
                for lock in page {
                    if let credential = try await LockProvisioning(database: pool).reissueCredential(lockID: lock.id) {
                        credentials.append(.init(lockID: lock.id.uuidString.lowercased(), deviceCredential: credential))
                    }
                }
            }
            if let simulatorCredentials {
                let data = try JSONEncoder().encode(credentials)
                guard FileManager.default.createFile(
                    atPath: simulatorCredentials, contents: data, attributes: [.posixPermissions: 0o600])
                else { throw ValidationError("cannot write \(simulatorCredentials)") }
                print("demo locks: \(credentials.count), credentials in \(simulatorCredentials)")
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

extension DemoCommand {
    static func sealer(_ config: AppConfiguration) throws -> KeySealer {
        do {
            return try KeySealer(base64Key: config.keyEncryptionKey)
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
