/// Text as PostgreSQL stores and measures it, the one definition the API's limits use.
///
/// Length is counted in Unicode code points, as PostgreSQL's `length()` (and so every
/// `CHECK (length(...) <= n)`) and JSON Schema's `maxLength` count it. Swift's `count` counts
/// grapheme clusters instead: a name of 150 `e` + U+0301 is 150 for Swift and 300 for the
/// database, which let it past the API's check and into a 500 from the constraint.
public enum StoredText {
    public static func length(_ text: some StringProtocol) -> Int {
        text.unicodeScalars.count
    }

    /// PostgreSQL text cannot hold U+0000 (libpq would cut the value there).
    public static func isStorable(_ text: some StringProtocol) -> Bool {
        !text.utf8.contains(0)
    }

    /// Storable and between `bounds` code points long.
    public static func fits(_ text: some StringProtocol, _ bounds: ClosedRange<Int>) -> Bool {
        isStorable(text) && bounds.contains(length(text))
    }
}
