@testable import App
import Foundation
import HTTPTypes
import Logging
import NIOHTTP1
import OpenAPIRuntime
import Postgres
import Testing

@Suite("Error mapping: bad input is 4xx, an unavailable database is 503, never a bare 500")
struct ErrorMiddlewareTests {
    let middleware: ErrorMiddleware = {
        let routes = RouteTable()
        routes.record(path: "/health", method: .get)
        return ErrorMiddleware(routes: routes)
    }()
    let logger = Logger(label: "error-tests")

    /// What the generated code throws when decoding a request fails.
    func serverError(_ underlying: any Error) -> ServerError {
        ServerError(
            operationID: "op", request: HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/x"),
            requestBody: nil, requestMetadata: .init(), causeDescription: "decoding failed", underlyingError: underlying)
    }

    struct WrongContentType: Error, HTTPResponseConvertible {
        var httpStatus: HTTPResponse.Status { .unsupportedMediaType }
    }

    struct Payload: Decodable { let name: String }

    @Test("malformed JSON is 400 INVALID_JSON")
    func malformedJSON() throws {
        let decoding = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode(Payload.self, from: Data("{not json".utf8))
        }
        let error = middleware.classify(serverError(decoding), path: "/x", logger: logger)
        #expect(error.status == .badRequest)
        #expect(error.errorCode == "INVALID_JSON")
    }

    @Test("a missing field is 400 INVALID_REQUEST naming the field")
    func missingField() throws {
        let decoding = try #require(throws: DecodingError.self) {
            try JSONDecoder().decode(Payload.self, from: Data("{}".utf8))
        }
        let error = middleware.classify(serverError(decoding), path: "/x", logger: logger)
        #expect(error.status == .badRequest)
        #expect(error.errorCode == "INVALID_REQUEST")
        #expect(error.message.contains("name"))
    }

    @Test("a wrong content type is 415")
    func wrongContentType() {
        let error = middleware.classify(serverError(WrongContentType()), path: "/x", logger: logger)
        #expect(error.status == .unsupportedMediaType)
        #expect(error.errorCode == "UNSUPPORTED_MEDIA_TYPE")
    }

    @Test("bytes the HTTP parser refuses while a body is read are 400, wrapped or not")
    func unparseableRequest() {
        for underlying in [HTTPParserError.invalidChunkSize, HTTPParserError.unknown, HTTPParserError.invalidCharactersUsed] {
            for thrown in [underlying as any Error, serverError(underlying)] {
                let error = middleware.classify(thrown, path: "/x", logger: logger)
                #expect(error.status == .badRequest)
                #expect(error.errorCode == "INVALID_REQUEST")
            }
        }
    }

    @Test("an exhausted pool or unreachable database is 503 with Retry-After, wrapped or not")
    func databaseUnavailable() {
        for underlying in [PostgresError(.poolTimeout, "busy"), PostgresError(.connectionFailed, "refused")] {
            for thrown in [underlying as any Error, serverError(underlying)] {
                let error = middleware.classify(thrown, path: "/x", logger: logger)
                #expect(error.status == .serviceUnavailable)
                #expect(error.errorCode == "DATABASE_UNAVAILABLE")
                #expect(error.headers[.retryAfter] == "1")
            }
        }
    }

    @Test("a database deadline (ours, statement_timeout, lock_timeout) is 504 DATABASE_TIMEOUT, wrapped or not")
    func databaseTimeout() {
        let deadlines = [
            PostgresError(.timeout, "deadline"),
            PostgresError(.server, "canceling statement due to statement timeout", sqlState: "57014"),
            PostgresError(.server, "canceling statement due to lock timeout", sqlState: "55P03"),
        ]
        for underlying in deadlines {
            for thrown in [underlying as any Error, serverError(underlying)] {
                let error = middleware.classify(thrown, path: "/x", logger: logger)
                #expect(error.status == .gatewayTimeout)
                #expect(error.errorCode == "DATABASE_TIMEOUT")
                #expect(error.headers[.retryAfter] == "1")
            }
        }
        // A cancelled task's statement is not a timeout: its client is gone; 503 like the rest.
        let cancelled = middleware.classify(PostgresError(.cancelled, "cancelled"), path: "/x", logger: logger)
        #expect(cancelled.errorCode == "DATABASE_UNAVAILABLE")
    }

    @Test("text the database layer refused (a NUL) is 400, wrapped or not")
    func unstorableText() {
        let underlying = PostgresError(.unstorableParameter, "a text parameter contains a NUL character")
        for thrown in [underlying as any Error, serverError(underlying)] {
            let error = middleware.classify(thrown, path: "/x", logger: logger)
            #expect(error.status == .badRequest)
            #expect(error.errorCode == "INVALID_REQUEST")
        }
    }

    @Test("a constraint violation that reached the edge is a logged 500, not a leak of SQL details")
    func unexpectedDatabaseError() {
        let error = middleware.classify(
            PostgresError(.server, "duplicate key", sqlState: "23505", constraint: "secret_constraint"), path: "/x", logger: logger)
        #expect(error.status == .internalServerError)
        #expect(error.errorCode == "INTERNAL_ERROR")
        #expect(!error.message.contains("secret_constraint"))
    }
}

extension ErrorMiddlewareTests {
    enum Wrapper: Error { case failed(any Error) }

    @Test("errors wrapped by the runtime (handler or middleware failures) are still recognised")
    func wrappedErrors() {
        let wrapped = serverError(Wrapper.failed(PostgresError(.connectionLost, "gone")))
        #expect(middleware.classify(wrapped, path: "/x", logger: logger).status == .serviceUnavailable)
        let ours = serverError(Wrapper.failed(APIError(.conflict, "PIN_CONFLICT", "taken")))
        #expect(middleware.classify(ours, path: "/x", logger: logger).errorCode == "PIN_CONFLICT")
    }
}
