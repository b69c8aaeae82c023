import Foundation
import Postgres
import Testing

@Suite("UUIDs to and from canonical text without sscanf and snprintf")
struct UUIDTextTests {
    @Test("the same UUIDs and texts as Foundation's, either case in")
    func matchesFoundation() throws {
        for uuid in (0..<200).map({ _ in UUID() }) + [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))] {
            #expect(uuid.lowercasedText == uuid.uuidString.lowercased())
            #expect(UUID(canonicalText: uuid.uuidString) == uuid)
            #expect(UUID(canonicalText: uuid.uuidString.lowercased()) == uuid)
        }
        #expect(UUID(canonicalText: "FFFFFFFF-ffff-FfFf-0000-00000000000a")?.lowercasedText == "ffffffff-ffff-ffff-0000-00000000000a")
    }

    @Test("anything but the canonical form is refused", arguments: [
        "", "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b1", "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b111", "0b3c1a528f0e4c559d433a1d3f4f3b11",
        "0b3c1a52+8f0e-4c55-9d43-3a1d3f4f3b11", "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b1g", " b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b11",
        "0x3c1a52-8f0e-4c55-9d43-3a1d3f4f3b11", "{0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3b}", "0b3c1a52-8f0e-4c55-9d43-3a1d3f4f3bé",
    ])
    func refuses(text: String) {
        #expect(UUID(canonicalText: text) == nil)
    }
}
