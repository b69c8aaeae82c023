@testable import App
import Foundation
import Testing

@Suite("Owner pages: escaping and form times")
struct AccountPagesTests {
    @Test("interpolated text is escaped; HTML values and literals are not")
    func htmlEscapes() {
        let name = "<script>alert('x')</script>&\""
        let inner: HTML = "<b>\(name)</b>"
        let page: HTML = "<p title=\"\(name)\">\(inner)\(Optional<String>.none)\(42)</p>"
        #expect(page.text == "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\"><b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;</b>42</p>")
    }

    @Test("a datetime-local value is read in the lock's time zone")
    func localTimes() throws {
        let berlin = try #require(try FormTime.parse("2026-12-24T18:00", field: "From", timezone: "Europe/Berlin"))
        #expect(berlin == Date(timeIntervalSince1970: 1_798_131_600))  // 17:00 UTC
        let summer = try #require(try FormTime.parse("2026-07-01T12:30:15", field: "From", timezone: "Europe/Berlin"))
        #expect(summer == Date(timeIntervalSince1970: 1_782_901_815))  // 10:30:15 UTC
        #expect(try FormTime.parse("2026-12-24T18:00:00Z", field: "From", timezone: "Europe/Berlin") == Date(timeIntervalSince1970: 1_798_135_200))
        #expect(try FormTime.parse("  ", field: "From", timezone: "UTC") == nil)
        #expect(FormTime.localInput(berlin, timezone: "Europe/Berlin") == "2026-12-24T18:00")
    }

    @Test("impossible or malformed times are refused, never rolled over", arguments: [
        "2026-02-30T10:00", "2026-13-01T10:00", "2026-01-01T24:00", "2026-01-01", "10:00", "2026-01-01T10",
        "0000-01-01T00:00", "2026-01-01T10:00+99:00", "x" + String(repeating: "9", count: 50),
        "2026-03-29T02:30",  // does not exist in Berlin (clocks go from 02:00 to 03:00)
    ])
    func invalidTimes(text: String) {
        #expect(throws: FormTime.Invalid.self) { try FormTime.parse(text, field: "From", timezone: "Europe/Berlin") }
    }
}
