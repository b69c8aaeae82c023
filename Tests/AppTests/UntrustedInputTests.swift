@testable import App
import Foundation
import OAuth
import Testing

/// Parsers that read what anyone on the internet sends: they answer malformed input with a
/// value, never a trap (Foundation's `URLComponents.percentEncodedQuery` setter trapped on
/// `%ZZ` and took the whole server down).
@Suite struct UntrustedInputTests {
    @Test("form and query decoding: percent escapes, plus, repeated and empty pairs")
    func decodesForms() throws {
        let pairs = try URLFormEncoding.decode("a=1&b=x+y%2Bz&&c&d=%E2%9C%93&a=2")
        #expect(pairs.map(\.name) == ["a", "b", "c", "d", "a"])
        #expect(pairs.map(\.value) == ["1", "x y+z", "", "✓", "2"])
        let form = try FormParameters(urlEncoded: "client_id=seam&client_id=x")
        #expect(form.repeated == ["client_id"])
    }

    @Test("malformed forms are errors, not traps", arguments: [
        "client_id=%ZZ", "grant_type=%", "a=%4", "%=1", "email=%C3%28", "x=%FF%FE", "a=%ED%A0%80", "=%G0", "client_id=seam%00x",
    ])
    func refusesMalformed(text: String) {
        #expect(throws: URLFormEncoding.Malformed.self) { try URLFormEncoding.decode(text) }
    }

    @Test("encoding round-trips every byte of any text, and leaves no '+' a receiver could read as a space")
    func encodingRoundTrips() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let scalars = (0..<Int.random(in: 0..<20, using: &random)).compactMap { _ in
                Unicode.Scalar(UInt32.random(in: 0..<0x1_0000, using: &random))
            }
            let text = String(String.UnicodeScalarView(scalars))
            guard !text.unicodeScalars.contains("\u{0}") else { continue }
            let encoded = URLFormEncoding.encode([(name: "v", value: text)])
            #expect(!encoded.contains("+") && !encoded.contains(" "))
            #expect(try URLFormEncoding.decode(encoded).first?.value == text)
        }
    }

    @Test("redirects append to the client's own query and encode every value")
    func redirects() {
        let plain = OAuthAuthorizePages.redirectLocation(to: "https://a.example/cb", with: ["code": "x+y z", "state": nil])
        #expect(plain == "https://a.example/cb?code=x%2By%20z")
        let withQuery = OAuthAuthorizePages.redirectLocation(to: "https://a.example/cb?tenant=1", with: ["state": "&=?", "code": "c"])
        #expect(withQuery == "https://a.example/cb?tenant=1&code=c&state=%26%3D%3F")
    }

    @Test("timestamps whose UTC value leaves years 1-9999 are refused", arguments: [
        "0000-12-31T23:59:59Z", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-00:01",
    ])
    func refusesOutOfRangeTimestamps(text: String) {
        #expect(throws: StrictTimestampTranscoder.InvalidTimestamp.self) { try StrictTimestampTranscoder().decode(text) }
    }

    @Test("the edges of years 1-9999 are accepted and written back as they came")
    func acceptsRangeEdges() throws {
        let transcoder = StrictTimestampTranscoder()
        for text in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"] {
            #expect(try transcoder.encode(transcoder.decode(text)) == text)
        }
        // Any Date at all encodes without trapping.
        #expect(try transcoder.encode(Date(timeIntervalSince1970: .infinity)) == "9999-12-31T23:59:59Z")
        #expect(try transcoder.encode(Date(timeIntervalSince1970: -1e300)) == "0001-01-01T00:00:00Z")
    }

    @Test("a lock's times: wide enough for a clock that lost power, never a year-10000 value")
    func deviceTimeWindow() throws {
        let now = try StrictTimestampTranscoder().decode("2026-12-01T00:00:00Z")
        #expect(DeviceTimeWindow.contains(try StrictTimestampTranscoder().decode("1970-01-01T00:00:00Z"), now: now))
        #expect(DeviceTimeWindow.contains(try StrictTimestampTranscoder().decode("2031-11-30T00:00:00Z"), now: now))
        #expect(!DeviceTimeWindow.contains(try StrictTimestampTranscoder().decode("1969-12-31T23:59:59Z"), now: now))
        #expect(!DeviceTimeWindow.contains(try StrictTimestampTranscoder().decode("9999-12-31T23:59:59Z"), now: now))
    }

    @Test("sign-in failures count by network: an IPv6 client's /64, an IPv4 client's address")
    func throttleKeys() {
        #expect(SignInThrottle.addressKey("192.0.2.7") == "address:192.0.2.7")
        #expect(SignInThrottle.addressKey("::ffff:192.0.2.7") == "address:192.0.2.7")
        let a = SignInThrottle.addressKey("2001:db8:1:2::1")
        #expect(a == "address:2001:db8:1:2::/64")
        #expect(SignInThrottle.addressKey("2001:db8:1:2:ffff:ffff:ffff:ffff") == a)
        #expect(SignInThrottle.addressKey("2001:db8:1:3::1") != a)
        #expect(SignInThrottle.addressKey("unknown") == "address:unknown")
    }
}
