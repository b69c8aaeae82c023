import App
import ArgumentParser
import Foundation
import OAuth

struct OwnersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "owners", abstract: "Manage lock owner accounts.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an owner account; prints its user_id. The password is read from standard input unless --password is given.")

        @Option(help: "The owner's email address.") var email: String
        @Option(help: "The password (8 to 72 characters). Prefer standard input: flags show in process lists.")
        var password: String?
        @OptionGroup var options: CommonOptions

        func run() async throws {
            let config = try options.configuration()
            guard let password = password ?? readLine(strippingNewline: true) else {
                throw ValidationError("give the password on standard input or with --password")
            }
            let owner = try await withDatabase(config) { pool, _ in
                do {
                    return try await OwnerStore(database: pool, hasher: PasswordHasher(cost: UInt8(config.bcryptCost)))
                        .create(email: email, password: password)
                } catch let error as OwnerError {
                    throw ValidationError(error.description)
                }
            }
            print("owner \(owner.email) user_id=\(owner.id.uuidString.lowercased())")
        }
    }
}
