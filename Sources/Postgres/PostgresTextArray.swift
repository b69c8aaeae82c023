/// A `text[]` value. Encoded and decoded in PostgreSQL's array literal syntax, with every
/// element quoted and escaped, so any text (commas, quotes, braces, NULL as a word) survives.
public struct PostgresTextArray: PostgresEncodable, PostgresDecodable, Equatable {
    public var values: [String]

    public init(_ values: [String]) { self.values = values }

    public var postgresText: String {
        let elements = values.map { value -> String in
            var escaped = "\""
            for character in value {
                if character == "\"" || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped + "\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }

    public init(postgresText text: String) throws {
        var characters = Array(text)
        guard characters.first == "{", characters.last == "}" else {
            throw PostgresError.cannotDecode(text, as: "text[]")
        }
        characters = Array(characters.dropFirst().dropLast())
        var values: [String] = []
        var index = 0
        while index < characters.count {
            var element = ""
            if characters[index] == "\"" {
                index += 1
                while index < characters.count, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < characters.count { index += 1 }
                    element.append(characters[index])
                    index += 1
                }
                index += 1  // closing quote
            } else {
                while index < characters.count, characters[index] != "," {
                    element.append(characters[index])
                    index += 1
                }
                if element == "NULL" { throw PostgresError.cannotDecode(text, as: "text[] without NULLs") }
            }
            values.append(element)
            index += 1  // comma
        }
        self.values = values
    }
}
