@testable import App
import Foundation
import Postgres
import Testing

@Suite("JSONWriter's values")
struct JSONWriterTests {
    static func written(_ write: (inout JSONWriter) -> Void) -> String {
        var json = JSONWriter(capacity: 16)
        write(&json)
        return json.text
    }

    @Test("timestamps as StrictTimestampTranscoder writes them, across the supported years")
    func timestamps() throws {
        let seconds: [Int64] = [
            CivilDate.supportedSeconds.lowerBound, -1, 0, 59, 951_782_400, 1_795_774_530, CivilDate.supportedSeconds.upperBound,
        ]
        for second in seconds {
            for fraction in [0.0, 0.999] {
                let date = Date(timeIntervalSince1970: Double(second) + fraction)
                #expect(Self.written { $0.timestamp(date) } == "\"\(try StrictTimestampTranscoder().encode(date))\"")
            }
        }
    }

    @Test("integers, arrays and separators")
    func integersAndStructure() {
        for value in [0, 7, -7, 199, Int.max, Int.min] {
            #expect(Self.written { $0.integer(value) } == String(value))
        }
        let text = Self.written { json in
            json.object { json in
                json.key("a")
                json.array([1, 2]) { json, value in json.integer(value) }
                json.member("b", nil as String?)
                json.key("c")
                json.array([Int]()) { json, value in json.integer(value) }
            }
        }
        #expect(text == #"{"a":[1,2],"b":null,"c":[]}"#)
    }

    @Test("strings: escapes where JSON needs them, UTF-8 through as it is")
    func strings() {
        #expect(Self.written { $0.string("a\"b\\c/d\n\u{01}\u{1F}é🚪") } == #""a\"b\\c/d\n\u0001\u001fé🚪""#)
    }
}
