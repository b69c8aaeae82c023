import Foundation
@testable import Locks
import Testing

@Suite("Sealed offline keys and page cursors")
struct KeySealerTests {
    static let keyA = Data(repeating: 7, count: 32).base64EncodedString()
    static let keyB = Data(repeating: 9, count: 32).base64EncodedString()

    @Test("a sealed key opens with the same key-encryption key and lock id only")
    func sealing() throws {
        let sealer = try KeySealer(base64Key: Self.keyA)
        let lockID = UUID()
        let secret = (0..<32).map { UInt8($0) }
        let sealed = try sealer.seal(secret, lockID: lockID)
        #expect(sealed.count == 12 + 32 + 16)
        #expect(sealed != secret)
        #expect(try sealer.open(sealed, lockID: lockID) == secret)
        #expect(throws: (any Error).self) { try sealer.open(sealed, lockID: UUID()) }
        #expect(throws: (any Error).self) { try KeySealer(base64Key: Self.keyB).open(sealed, lockID: lockID) }
        var tampered = sealed
        tampered[20] ^= 1
        #expect(throws: (any Error).self) { try sealer.open(tampered, lockID: lockID) }
        // Two seals of one key differ (random nonce).
        #expect(try sealer.seal(secret, lockID: lockID) != sealed)
    }

    @Test("the key-encryption key must be 32 bytes of base64", arguments: ["", "not base64!", Data(count: 16).base64EncodedString()])
    func rejectsBadKeys(key: String) {
        #expect(throws: KeySealer.ConfigurationError.self) { try KeySealer(base64Key: key) }
    }

    @Test("page cursors round-trip and refuse garbage")
    func cursors() {
        let id = UUID()
        let cursor = PageCursor.encode(micros: 1_795_756_665_123_456, id: id)
        #expect(PageCursor.decode(cursor)?.micros == 1_795_756_665_123_456)
        #expect(PageCursor.decode(cursor)?.id == id)
        #expect(PageCursor.decode("garbage") == nil)
        #expect(PageCursor.decode("") == nil)
    }

    @Test("IANA names are known, made-up ones are not")
    func timeZones() {
        #expect(TimeZoneNames.isKnown("Europe/Berlin"))
        #expect(TimeZoneNames.isKnown("America/New_York"))
        #expect(TimeZoneNames.isKnown("UTC"))
        #expect(!TimeZoneNames.isKnown("Mars/Olympus_Mons"))
        #expect(!TimeZoneNames.isKnown("europe/berlin"))
    }
}
