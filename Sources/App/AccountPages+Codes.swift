import Foundation
import HTTPTypes
import Hummingbird
import Locks
import OAuth

/// A lock's access codes on its page: the list, a new online code, an offline PIN of any type,
/// removal. Each goes through the API's store (`AccessCodeStore`, `OfflineCodeRegistry`), so
/// the rules and their messages are the API's, shown beside the form.
extension AccountPages {
    func codesSection(
        _ account: SignedIn, _ lock: Lock, codes: [AccessCode], showEnded: Bool, state: LockPageState, error: (String) -> HTML
    ) -> HTML {
        let lockPath = path("/locks/\(lock.id.uuidString.lowercased())")
        let csrf: HTML = "<input type=\"hidden\" name=\"csrf_token\" value=\"\(account.csrfToken)\">"
        func typed(_ form: String, _ name: String, _ fallback: String = "") -> String {
            (state.errorForm == form ? state.fields?[name] : nil) ?? fallback
        }
        let rows: [HTML] = codes.map { code in
            let removable = !code.isOffline && ["pending", "scheduled", "active", "failed"].contains(code.status)
            let remove: HTML = removable
                ? "<form method=\"post\" action=\"\(lockPath)/codes/\(code.id)/remove\">\(csrf)<button type=\"submit\" id=\"remove-\(code.id)\">Remove</button></form>"
                : code.isOffline && AccessCodeStore.liveStatuses.contains(code.status) ? "<span class=\"muted\">remove at the lock</span>" : .empty
            return """
                <tr id="code-\(code.id)"><td>\(code.name ?? "—")</td><td class="pin-cell">\(code.code)</td>
                <td>\(code.offlineKind.map { "offline, \($0.rawValue)" } ?? "online")</td>
                <td class="status-\(code.status)">\(code.status)</td><td>\(AccountLayout.time(code.startsAt, in: lock.timezone))</td>
                <td>\(AccountLayout.time(code.endsAt, in: lock.timezone))</td><td>\(remove)</td></tr>
                """
        }
        let zone = lock.timezone
        let now = FormTime.localInput(Date(), timezone: zone)
        let kinds: [HTML] = OfflineCodeKind.allCases.map { kind in
            "<option value=\"\(kind.rawValue)\"\(HTML.when(typed("offline", "type", "one_time_use") == kind.rawValue, " selected"))>\(kind.rawValue.replacingOccurrences(of: "_", with: " "))</option>"
        }
        return """
            <h2 id="codes">Access codes</h2>
            <p class="muted">\(showEnded ? "All codes, ended ones too." : "Codes on the lock or on their way to it.")
            <a href="\(lockPath)\(showEnded ? "" : "?codes=all")#codes">\(showEnded ? "Show live codes only" : "Show ended codes too")</a></p>
            \(codes.isEmpty ? "<p>No codes.</p>" : HTML.empty)
            <div class="scroll"><table><thead><tr><th>Name</th><th>PIN</th><th>Kind</th><th>Status</th><th>From</th><th>Until</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            \(HTML.when(lock.canProgramOnlineAccessCodes, """
            <fieldset><legend>New online code</legend>
            <form method="post" action="\(lockPath)/codes">\(csrf)\(error("online"))
            <label for="online-name">Name</label><input id="online-name" name="name" type="text" maxlength="200" value="\(typed("online", "name"))">
            <label for="online-code">PIN (\(lock.codeLengthMin) to \(lock.codeLengthMax) digits)</label>
            <input id="online-code" name="code" type="text" inputmode="numeric" required value="\(typed("online", "code"))">
            <label for="online-starts">From (optional, \(zone))</label><input id="online-starts" name="starts_at" type="datetime-local" value="\(typed("online", "starts_at"))">
            <label for="online-ends">Until (optional, \(zone))</label><input id="online-ends" name="ends_at" type="datetime-local" value="\(typed("online", "ends_at"))">
            <button type="submit" id="create-online">Create code</button></form></fieldset>
            """))
            \(HTML.when(lock.canProgramOfflineAccessCodes, """
            <fieldset><legend>Offline PIN</legend>
            <p class="muted">Computed here and verified by the lock without a connection. One-time and erase PINs last 24 hours from their start; permanent ones have no end; hourly-bound ones up to 28 days; daily-bound ones 29 to 367 days.</p>
            <form method="post" action="\(lockPath)/offline-codes">\(csrf)\(error("offline"))
            <label for="offline-type">Type</label><select id="offline-type" name="type">\(kinds)</select>
            <label for="offline-name">Name</label><input id="offline-name" name="name" type="text" maxlength="200" value="\(typed("offline", "name"))">
            <label for="offline-starts">From (\(zone))</label><input id="offline-starts" name="starts_at" type="datetime-local" required value="\(typed("offline", "starts_at", now))">
            <label for="offline-ends">Until (hourly- and daily-bound only, \(zone))</label><input id="offline-ends" name="ends_at" type="datetime-local" value="\(typed("offline", "ends_at"))">
            <label for="offline-rounding">Allowed rounding of the end</label><select id="offline-rounding" name="max_time_rounding">
            <option value="1h">1 hour</option><option value="1d"\(HTML.when(typed("offline", "max_time_rounding") == "1d", " selected"))>1 day</option></select>
            <button type="submit" id="issue-offline">Issue offline PIN</button></form></fieldset>
            """))
            """
    }

    private func codeFailure(
        _ account: SignedIn, _ lock: Lock, _ form: String, _ error: AccessCodeError, _ fields: FormParameters
    ) async throws -> Response {
        if error == .lockNotFound { return lockNotFound(account) }
        let api = error.apiError
        return try await renderLockPage(account, lock, query: FormParameters(), state: .failed(api.status, form, api.message, fields))
    }

    /// Reads the optional time fields of a code form in the lock's time zone; the error message otherwise.
    private func times(_ fields: FormParameters, _ lock: Lock) -> Result<(starts: Date?, ends: Date?), FormTime.Invalid> {
        do {
            return .success((try FormTime.parse(fields["starts_at"], field: "From", timezone: lock.timezone),
                             try FormTime.parse(fields["ends_at"], field: "Until", timezone: lock.timezone)))
        } catch {
            return .failure(error)
        }
    }

    func createOnlineCode(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        let window: (starts: Date?, ends: Date?)
        switch times(fields, lock) {
        case .success(let read): window = read
        case .failure(let invalid):
            return try await renderLockPage(account, lock, query: FormParameters(), state: .failed(.badRequest, "online", invalid.message, fields))
        }
        let name = fields["name"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let code = try await accessCodes.create(
                ownerID: account.owner.id, lockID: lock.id, name: name, code: fields["code"] ?? "", startsAt: window.starts, endsAt: window.ends)
            return OAuthAuthorizePages.seeOther(path("/locks/\(lock.id.uuidString.lowercased())?issued=\(code.id.uuidString.lowercased())"))
        } catch let error as AccessCodeError {
            return try await codeFailure(account, lock, "online", error, fields)
        }
    }

    func issueOfflineCode(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        func refuse(_ message: String) async throws -> Response {
            try await renderLockPage(account, lock, query: FormParameters(), state: .failed(.badRequest, "offline", message, fields))
        }
        guard let kind = fields["type"].flatMap(OfflineCodeKind.init(rawValue:)) else {
            return try await refuse("Choose a type: \(OfflineCodeKind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard let rounding = MaxTimeRounding(apiValue: fields["max_time_rounding"] ?? "1h") else {
            return try await refuse("The allowed rounding is 1 hour or 1 day.")
        }
        let window: (starts: Date?, ends: Date?)
        switch times(fields, lock) {
        case .success(let read): window = read
        case .failure(let invalid): return try await refuse(invalid.message)
        }
        let name = fields["name"].flatMap { $0.isEmpty ? nil : $0 }
        do {
            let code = try await offlineCodes.issue(
                ownerID: account.owner.id, lockID: lock.id, name: name,
                request: .init(kind: kind, isOneTimeUse: kind == .oneTimeUse, startsAt: window.starts, endsAt: window.ends, maxTimeRounding: rounding))
            return OAuthAuthorizePages.seeOther(path("/locks/\(lock.id.uuidString.lowercased())?issued=\(code.id.uuidString.lowercased())"))
        } catch let error as AccessCodeError {
            return try await codeFailure(account, lock, "offline", error, fields)
        }
    }

    func removeCode(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        let codeNotFound = AccountLayout.message(.notFound, title: "Code not found", text: "No access code with this id.", basePath: basePath, account: account)
        // Found only among this owner's codes of this lock: another owner's code, or this
        // owner's code of another lock, reads as missing.
        guard let id = context.parameters.get("access_code_id").flatMap(UUID.init(uuidString:)),
            let code = try await accessCodes.find(ownerID: account.owner.id, id: id), code.lockID == lock.id
        else { return codeNotFound }
        do {
            guard try await accessCodes.delete(ownerID: account.owner.id, id: code.id) else { return codeNotFound }
        } catch let error as AccessCodeError {
            return try await codeFailure(account, lock, "remove", error, fields)
        }
        return OAuthAuthorizePages.seeOther(path("/locks/\(lock.id.uuidString.lowercased())#codes"))
    }
}
