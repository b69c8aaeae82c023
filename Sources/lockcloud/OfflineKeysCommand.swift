import App
import ArgumentParser
import Foundation
import Locks

struct OfflineKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offline-keys", abstract: "Operator tools for locks' offline PIN keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a lock's new offline codes with its next key version; codes issued before stay valid to their end.")

        @Argument(help: "The lock id.") var lockID: String
        @OptionGroup var options: CommonOptions

        func run() async throws {
            guard let id = UUID(uuidString: lockID) else { throw ValidationError("\(lockID) is not a lock id") }
            let config = try options.configuration()
            let version = try await withDatabase(config) { pool, _ in
                do {
                    return try await OfflineCodeRegistry(database: pool, sealer: try DemoCommand.sealer(config)).rotateKey(lockID: id)
                } catch AccessCodeError.offlineKeyChangePending(let why) {
                    throw ValidationError(why)
                }
            }
            guard let version else { throw ValidationError("no paired lock with id \(lockID)") }
            print("lock \(id.uuidString.lowercased()): new offline codes use key version \(version)")
        }
    }
}
