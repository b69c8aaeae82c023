import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// Reads the JSON body of a hand-written route (device gateway, webhooks) into the Decodable
/// type that mirrors the spec's schema for it. A decoding failure is a 400 in the API's shape
/// that names the field, never a 500: the bodies come from locks and clients we do not control.
enum JSONRequestBody {
    static func decode<Body: Decodable>(_ type: Body.Type, from request: Request, maxBytes: Int) async throws -> Body {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
        }
        var request = request
        let data = Data(buffer: try await request.collectBody(upTo: maxBytes))
        do {
            return try JSONDecoder().decode(Body.self, from: data)
        } catch let error as DecodingError {
            // The same 400s, naming the field, as the generated routes' bodies get.
            throw ErrorMiddleware.describe(error)
        }
    }
}

/// A whole number in a request body. Foundation's JSONDecoder on Linux reports `50.5` or `1e30`
/// for an `Int` field as "not valid JSON" without the field's name; read as a Double first, the
/// failure is ours to report, with the field's path.
struct WholeNumber: Decodable, Sendable {
    let value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let number = try container.decode(Double.self)
        // ±2^53: every whole number a Double holds exactly; far beyond any field's own range.
        guard number == number.rounded(), abs(number) <= 9_007_199_254_740_992 else {
            throw DecodingError.typeMismatch(
                Int.self, .init(codingPath: decoder.codingPath, debugDescription: "Expected a whole number."))
        }
        value = Int(number)
    }
}
