import CLibPQ
import Dispatch
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection. Not thread-safe by itself: the pool hands it to one thread at a time,
/// and every call blocks that thread (a dedicated pool thread, never an event loop).
///
/// Statements are prepared on first use and cached by text, so each request costs one round
/// trip (`PQexecPrepared`) instead of a parse and plan every time; or, behind a transaction-mode
/// pooler (`PreparedStatementMode.unnamed`), sent whole each time as the unnamed statement.
public final class PostgresConnection: @unchecked Sendable {
    /// Why a statement was interrupted, for the error its caller gets.
    enum Interruption { case deadline, cancelled }

    private static let lastID = NIOLockedValueBox<UInt64>(0)
    /// Unique for the life of the process, unlike the socket's number, which the kernel hands
    /// out again after `close()`: the reactor keys its waiters by this.
    let id: UInt64
    let settings: PostgresConnectionSettings
    private let logger: Logger
    private var handle: OpaquePointer?
    /// Set from any thread when the task using the connection is cancelled; the blocking wait
    /// notices it within one poll slice and cancels the statement.
    let cancelRequested = NIOLockedValueBox(false)
    /// Each statement's client-side deadline; `settings.queryDeadline` unless a session that
    /// runs long work on purpose (migrations) lifts it.
    public var queryDeadline: Duration?
    private var preparedStatements: [String: String] = [:]
    /// Counts the sessions this connection has opened: a change means a new server session,
    /// perhaps on another server (`ReadReplica` ties a replica's replay position to one session).
    private(set) var sessionNumber: UInt64 = 0
    /// The result of a statement sent with `sendPrepared`, while the rest of its answer is awaited.
    private var pendingOutcome: Result<PostgresResult, any Error>?

    init(settings: PostgresConnectionSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.id = Self.lastID.withLockedValue { $0 += 1; return $0 }
        self.queryDeadline = settings.queryDeadline
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection now. Throws `.connectionFailed` with libpq's message.
    public static func connect(_ settings: PostgresConnectionSettings, logger: Logger) throws -> PostgresConnection {
        let connection = PostgresConnection(settings: settings, logger: logger)
        try connection.reconnect()
        return connection
    }

    /// Makes sure the connection can take a statement: opens it when it was never opened or was
    /// found broken. A connection that received anything while idle is treated as broken too:
    /// an idle backend only talks when it is being terminated (database restart), and finding
    /// that out here costs one `poll` instead of one failed request.
    func ensureUsable() throws {
        if let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE,
            !Self.socketHasPendingInput(handle)
        {
            return
        }
        if handle != nil {
            logger.info("replacing a broken database connection")
        }
        try reconnect()
    }

    private static func socketHasPendingInput(_ handle: OpaquePointer) -> Bool {
        let socket = PQsocket(handle)
        guard socket >= 0 else { return true }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) != 0
    }

    func reconnect() throws {
        close()
        let parameters = [("dbname", settings.url)] + settings.connectionParameters
        let keywords = parameters.map(\.0)
        let values = parameters.map(\.1)
        let newHandle = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                // expand_dbname = 1: the URL's own parameters apply, later keywords override.
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let newHandle else { throw PostgresError(.connectionFailed, "libpq could not allocate a connection") }
        guard PQstatus(newHandle) == CONNECTION_OK else {
            let message = Self.trimmedMessage(PQerrorMessage(newHandle))
            PQfinish(newHandle)
            throw PostgresError(.connectionFailed, message)
        }
        handle = newHandle
        sessionNumber += 1
        // Server notices (e.g. "relation already exists, skipping") are not errors; libpq would
        // print them to stderr, outside our logging.
        PQsetNoticeProcessor(newHandle, { _, _ in }, nil)
        // Fixed session settings, so text output of timestamps has one shape everywhere.
        // TimeZone and DateStyle are also safe behind PgBouncer in transaction mode: the server
        // reports them (ParameterStatus), PgBouncer keeps them per client and sets them on
        // whichever server connection serves that client next. bytea_output is not reported, so
        // there it is left at the server's default, which is hex.
        switch settings.preparedStatements {
        case .named: try executeScript("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'")
        case .unnamed: try executeScript("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'")
        }
    }

    /// Closes the connection; the next `ensureUsable` opens a new one.
    func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedStatements.removeAll()
    }

    var isInTransaction: Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    public func query(_ sql: SQL, _ parameters: [(any PostgresEncodable)?] = []) throws -> PostgresResult {
        guard let handle else { throw PostgresError(.connectionLost, "connection is closed") }
        let name: String? =
            switch settings.preparedStatements {
            case .named: try preparedStatementName(for: sql, parameterCount: parameters.count, handle: handle)
            case .unnamed: nil
            }
        try send(sql, name: name, parameters, handle: handle)
        return try awaitResult(handle)
    }

    /// Sends one statement: the named one prepared on this connection, or (no name) the whole
    /// text as the unnamed statement, parsed, bound and executed in the same round trip.
    private func send(_ sql: SQL, name: String?, _ parameters: [(any PostgresEncodable)?], handle: OpaquePointer) throws {
        let texts = try Self.parameterTexts(parameters)
        let sent = withOptionalCStringArray(texts) { pointers in
            if let name {
                PQsendQueryPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
            } else {
                PQsendQueryParams(handle, sql.text, Int32(pointers.count), nil, pointers, nil, nil, 0)
            }
        }
        guard sent == 1 else { throw connectionError(handle: handle, fallback: "could not send the statement") }
    }

    /// Collects the answer to the statement just sent, blocking this (pool) thread, but never
    /// past the statement's deadline: then, or when the caller's task is cancelled, the
    /// statement is cancelled with `PQcancel`, and a connection that does not answer within
    /// the grace is closed (a half-open TCP connection would otherwise hold it forever).
    private func awaitResult(_ handle: OpaquePointer) throws -> PostgresResult {
        let deadline = queryDeadline.map { ContinuousClock.now + $0 }
        var interruption: Interruption?
        var graceEnd = ContinuousClock.now
        var outcome: Result<PostgresResult, any Error>?
        while true {
            while PQisBusy(handle) == 1 {
                let now = ContinuousClock.now
                if interruption == nil {
                    if cancelRequested.withLockedValue({ $0 }) {
                        interruption = .cancelled
                    } else if let deadline, now >= deadline {
                        interruption = .deadline
                    }
                    if interruption != nil, let cancel = makeCancel() {
                        // Not sent from here: PQcancel opens a new connection, which blocks for
                        // minutes when the network path is gone; the grace below still holds.
                        DispatchQueue.global().async { cancel.send() }
                    }
                    if interruption != nil { graceEnd = now + settings.cancelGrace }
                } else if now >= graceEnd {
                    logDiscard()
                    close()
                    throw Self.error(for: interruption!, settings: settings)
                }
                // Short slices, so a cancellation from another thread is seen promptly.
                let until = interruption == nil ? (deadline ?? now + .seconds(1)) : graceEnd
                let slice = min(max(until - now, .milliseconds(1)), .milliseconds(100))
                var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, Int32(slice.milliseconds))
                if ready < 0, errno != EINTR { throw connectionError(handle: handle, fallback: "poll failed") }
                if ready > 0, PQconsumeInput(handle) != 1 {
                    throw connectionError(handle: handle, fallback: "connection lost")
                }
            }
            guard let result = PQgetResult(handle) else { break }
            if outcome != nil {
                PQclear(result)
                continue
            }
            outcome = Result { try consume(result, handle: handle) }
            if self.handle == nil { break }  // the error closed a broken connection
        }
        let final = outcome ?? .failure(PostgresError(.connectionLost, "no result from server"))
        if let interruption { return try Self.replacingCancel(final, with: interruption, settings: settings).get() }
        return try final.get()
    }

    /// The error a caller gets for an interrupted statement.
    static func error(for interruption: Interruption, settings: PostgresConnectionSettings) -> PostgresError {
        switch interruption {
        case .deadline:
            let limit = settings.queryDeadline.map { "\($0)" } ?? "its deadline"
            return PostgresError(.timeout, "the statement did not finish within \(limit)")
        case .cancelled:
            return PostgresError(.cancelled, "the statement was cancelled with its task")
        }
    }

    /// The server's answer to our `PQcancel` (57014) becomes the reason we cancelled.
    static func replacingCancel(
        _ outcome: Result<PostgresResult, any Error>, with interruption: Interruption, settings: PostgresConnectionSettings
    ) -> Result<PostgresResult, any Error> {
        guard case .failure(let error as PostgresError) = outcome, error.sqlState == SQLState.queryCanceled else {
            return outcome
        }
        return .failure(Self.error(for: interruption, settings: settings))
    }

    /// A handle for `PQcancel`, made while the connection is quiet; nil when it is closed.
    func makeCancel() -> PostgresCancel? {
        guard let handle, let cancel = PQgetCancel(handle) else { return nil }
        return PostgresCancel(cancel)
    }

    func logDiscard() {
        logger.warning("discarded a database connection that did not answer a cancelled statement in time")
    }

    /// The socket the connection uses now; -1 when closed.
    var socket: Int32 { handle.map { PQsocket($0) } ?? -1 }

    /// The parameters as libpq's C strings take them. A NUL would end the C string early, so
    /// `"front\u{0}EVIL"` would be stored as `front`: refused instead, before anything is sent.
    static func parameterTexts(_ parameters: [(any PostgresEncodable)?]) throws -> [String?] {
        try parameters.map { parameter in
            guard let text = parameter?.postgresText else { return nil }
            guard !text.utf8.contains(0) else {
                throw PostgresError(.unstorableParameter, "a text parameter contains a NUL character")
            }
            return text
        }
    }

    /// Sends an already-prepared statement without waiting for its answer, for the pool's
    /// `PostgresReactor` to collect; returns the socket to wait on. Nil, with nothing sent, when
    /// the statement is not prepared on this connection yet or the connection needs a check
    /// that may block (reconnecting): the caller then takes the blocking path on a pool thread.
    ///
    /// Safe on any thread: libpq stays in blocking mode, so sending could only block if the
    /// socket's send buffer were full, which a statement of a few hundred bytes on an idle
    /// connection never finds.
    func sendPrepared(_ sql: SQL, _ parameters: [(any PostgresEncodable)?]) throws -> Int32? {
        guard let handle, PQstatus(handle) == CONNECTION_OK,
            PQtransactionStatus(handle) == PQTRANS_IDLE, !Self.socketHasPendingInput(handle)
        else { return nil }
        let name: String?
        switch settings.preparedStatements {
        case .named:
            guard let prepared = preparedStatements[sql.text] else { return nil }
            name = prepared
        case .unnamed: name = nil
        }
        try send(sql, name: name, parameters, handle: handle)
        pendingOutcome = nil
        return PQsocket(handle)
    }

    /// Reads what has arrived for a statement sent with `sendPrepared`, without blocking: the
    /// result once the server is ready for the next statement, nil while more is expected.
    /// Called when the socket is readable. `PQgetResult` is only called when `PQisBusy` says it
    /// will not block, so a result that arrives before the end of the exchange is kept here.
    func receiveWithoutBlocking() throws -> PostgresResult? {
        guard let handle else { throw PostgresError(.connectionLost, "connection is closed") }
        guard PQconsumeInput(handle) == 1 else {
            pendingOutcome = nil
            throw connectionError(handle: handle, fallback: "connection lost")
        }
        while PQisBusy(handle) == 0 {
            guard let result = PQgetResult(handle) else {
                // NULL: the exchange is over.
                defer { pendingOutcome = nil }
                return try (pendingOutcome ?? .failure(PostgresError(.connectionLost, "no result from server"))).get()
            }
            guard pendingOutcome == nil else {
                PQclear(result)
                continue
            }
            pendingOutcome = Result { try consume(result, handle: handle) }
            if self.handle == nil {
                // The error closed a broken connection; nothing more will come.
                defer { pendingOutcome = nil }
                return try pendingOutcome!.get()
            }
        }
        return nil
    }

    /// Runs a script of one or more statements without parameters (simple query protocol).
    /// Internal: only migrations and fixed session setup use it, never request data.
    func executeScript(_ script: String) throws {
        guard let handle else { throw PostgresError(.connectionLost, "connection is closed") }
        _ = try consume(PQexec(handle, script), handle: handle)
    }

    /// The connection's socket, for a caller that waits on it itself (the notification
    /// listener); -1 when closed.
    var socketDescriptor: Int32 {
        guard let handle else { return -1 }
        return PQsocket(handle)
    }

    /// Reads what the server sent while the connection sat idle and returns the `NOTIFY`
    /// messages among it, oldest first. Throws `.connectionLost` when the connection broke.
    func receiveNotifications() throws -> [PostgresNotification] {
        guard let handle else { throw PostgresError(.connectionLost, "connection is closed") }
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            throw connectionError(handle: handle, fallback: "connection lost")
        }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(handle) {
            notifications.append(
                PostgresNotification(
                    channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra),
                    senderPID: notify.pointee.be_pid))
            PQfreemem(notify)
        }
        return notifications
    }

    private func preparedStatementName(for sql: SQL, parameterCount: Int, handle: OpaquePointer) throws -> String {
        if let name = preparedStatements[sql.text] { return name }
        let name = "lc\(preparedStatements.count + 1)"
        guard PQsendPrepare(handle, name, sql.text, Int32(parameterCount), nil) == 1 else {
            throw connectionError(handle: handle, fallback: "could not send the statement")
        }
        _ = try awaitResult(handle)
        preparedStatements[sql.text] = name
        return name
    }

    /// Copies a result out of libpq, frees it, and turns failures into `PostgresError`.
    private func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws -> PostgresResult {
        guard let result else {
            throw connectionError(handle: handle, fallback: "no result from server")
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return Self.copy(result)
        default:
            throw serverError(result, handle: handle)
        }
    }

    private func serverError(_ result: OpaquePointer, handle: OpaquePointer) -> PostgresError {
        func field(_ code: Unicode.Scalar) -> String? {
            guard let pointer = PQresultErrorField(result, Int32(code.value)) else { return nil }
            return String(cString: pointer)
        }
        guard let sqlState = field("C") else {
            // No SQLSTATE means libpq itself failed: the connection broke mid-statement.
            return connectionError(handle: handle, fallback: Self.trimmedMessage(PQresultErrorMessage(result)))
        }
        return PostgresError(
            .server, field("M") ?? "unknown server error", sqlState: sqlState, detail: field("D"),
            hint: field("H"), constraint: field("n"), table: field("t"), column: field("c"))
    }

    private func connectionError(handle: OpaquePointer, fallback: String) -> PostgresError {
        let message = Self.trimmedMessage(PQerrorMessage(handle))
        if PQstatus(handle) != CONNECTION_OK {
            // The socket is gone; drop it so the next checkout connects afresh.
            close()
        }
        return PostgresError(.connectionLost, message.isEmpty ? fallback : message)
    }

    private static func copy(_ result: OpaquePointer) -> PostgresResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let names = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var starts = [Int](repeating: 0, count: rowCount * columnCount)
        var lengths = [Int](repeating: -1, count: rowCount * columnCount)
        var total = 0
        for row in 0..<rowCount {
            for column in 0..<columnCount where PQgetisnull(result, Int32(row), Int32(column)) == 0 {
                let cell = row * columnCount + column
                starts[cell] = total
                lengths[cell] = Int(PQgetlength(result, Int32(row), Int32(column)))
                total += lengths[cell]
            }
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            for cell in 0..<starts.count where lengths[cell] > 0 {
                let value = PQgetvalue(result, Int32(cell / columnCount), Int32(cell % columnCount))!
                UnsafeMutableRawPointer(buffer.baseAddress! + starts[cell]).copyMemory(from: value, byteCount: lengths[cell])
            }
            count = total
        }
        let cells = PostgresCells(columnNames: names, bytes: bytes, starts: starts, lengths: lengths)
        let rows = (0..<rowCount).map { PostgresRow(cells: cells, row: $0) }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let tag = String(cString: PQcmdStatus(result))
        return PostgresResult(columns: names, rows: rows, affectedRows: affected, commandTag: tag)
    }

    private static func trimmedMessage(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        var message = String(cString: pointer)
        while let last = message.last, last.isWhitespace { message.removeLast() }
        return message
    }
}

/// libpq's cancel request object. `send` opens a new connection to the server and blocks until
/// it is acknowledged, so it runs on a pool thread or a dispatch queue, never an event loop.
final class PostgresCancel: @unchecked Sendable {
    private let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { PQfreeCancel(pointer) }

    func send() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(pointer, &buffer, Int32(buffer.count))
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStringArray(strings.map { Optional($0) }) { pointers in
        body(pointers + [nil])
    }
}

/// Calls `body` with one C string per element; nil elements stay NULL (SQL NULL parameters).
private func withOptionalCStringArray<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
