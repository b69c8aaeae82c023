import HTTPTypes

/// The query parameters of a hand-written read route, typed as the spec types them. Refusals
/// are the generated routes' (400 `INVALID_REQUEST`), so that taking an operation out of
/// generation changes no answer: a query that is not `name=value` pairs (`%ZZ`, `&&&`, `?`) and
/// a value that is not of its parameter's type. Ranges (`limit` 1 to 1000) and cursors are the
/// stores' to check, as before.
struct ReadQuery {
    private let pairs: [(name: String, value: String)]

    init(_ query: String?) throws {
        guard let query, !query.isEmpty else {
            pairs = []
            return
        }
        // OpenAPIRuntime's form-style reading: every `&`-separated piece is name=value (a final
        // `&` ends the last pair and starts none).
        var pieces = query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false)
        if pieces.count > 1, pieces.last?.isEmpty == true { pieces.removeLast() }
        guard pieces.allSatisfy({ $0.contains(UInt8(ascii: "=")) }), let pairs = try? URLFormEncoding.decode(query) else {
            throw APIError(.badRequest, "INVALID_REQUEST", "The query string is not a list of name=value pairs.")
        }
        self.pairs = pairs
    }

    /// The first value given for `name`.
    func string(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    func requiredString(_ name: String) throws -> String {
        guard let value = string(name) else { throw Self.invalid("\(name) is required.") }
        return value
    }

    func integer(_ name: String) throws -> Int? {
        try string(name).map { text in
            guard let value = Int(text) else { throw Self.invalid("\(name) must be an integer.") }
            return value
        }
    }

    /// `true` or `false`, nothing else (as the generated decoder reads a boolean).
    func boolean(_ name: String) throws -> Bool? {
        try string(name).map { text in
            guard let value = Bool(text) else { throw Self.invalid("\(name) must be true or false.") }
            return value
        }
    }

    /// One of the parameter's `enum` values.
    func oneOf(_ allowed: Set<String>, _ name: String) throws -> String? {
        try string(name).map { text in
            guard allowed.contains(text) else {
                throw Self.invalid("\(name) must be one of \(allowed.sorted().joined(separator: ", ")).")
            }
            return text
        }
    }

    private static func invalid(_ message: String) -> APIError {
        APIError(.badRequest, "INVALID_REQUEST", message)
    }
}
