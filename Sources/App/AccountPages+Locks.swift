import Foundation
import HTTPTypes
import Hummingbird
import Locks
import OAuth

/// The locks list and one lock's page (its state, rename, lock and unlock, its access codes).
extension AccountPages {
    /// What a lock page shows besides the lock: a form's error (with what was typed, so the
    /// owner corrects rather than retypes) or a notice after a change.
    struct LockPageState: Sendable {
        var status: HTTPResponse.Status = .ok
        /// Which form the error belongs to: rename, action, online, offline, remove.
        var errorForm: String?
        var error: String?
        var fields: FormParameters?

        static func failed(_ status: HTTPResponse.Status, _ form: String, _ message: String, _ fields: FormParameters) -> Self {
            LockPageState(status: status, errorForm: form, error: message, fields: fields)
        }
    }

    func lockNotFound(_ account: SignedIn) -> Response {
        AccountLayout.message(.notFound, title: "Lock not found", text: "No lock with this id.", basePath: basePath, account: account)
    }

    /// The owner's lock named by the path, or nil: another owner's lock, a removed one and a
    /// malformed id all read as missing.
    func pathLock(_ account: SignedIn, _ context: AppRequestContext) async throws -> Lock? {
        guard let id = context.parameters.get("lock_id").flatMap(UUID.init(uuidString:)) else { return nil }
        return try await locks.find(ownerID: account.owner.id, lockID: id)
    }

    func locksPage(_ account: SignedIn, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let cursor = Self.query(request)?["cursor"]
        let page: LockStore.Page
        do {
            page = try await locks.list(ownerID: account.owner.id, limit: 100, cursor: cursor)
        } catch is LockError {
            return AccountLayout.message(.badRequest, title: "Invalid page", text: "This page link is not valid.", basePath: basePath, account: account)
        }
        let seen = try await locks.lastSeen(ownerID: account.owner.id, lockIDs: page.locks.map(\.id))
        let rows: [HTML] = page.locks.map { lock in
            """
            <tr id="row-\(lock.id)"><td><a href="\(path("/locks/"))\(lock.id)">\(lock.name)</a></td><td>\(lock.model)</td>
            <td>\(lock.online ? "online" : "offline")</td><td>\(lock.batteryLevel.map { "\($0) %" } ?? "—")</td>
            <td class="lock-state">\(lock.lockState)</td><td>\(lock.doorState)</td><td>\(AccountLayout.time(seen[lock.id], in: lock.timezone))</td>
            <td>\(actionButtons(account, lock))</td></tr>
            """
        }
        let next: HTML = page.nextCursor.map { "<p><a href=\"\(path("/locks?"))\(URLFormEncoding.encode([(name: "cursor", value: $0)]))\">More locks</a></p>" } ?? .empty
        return AccountLayout.page(.ok, title: "Locks", account: account, basePath: basePath, body: """
            <h1>Your locks</h1>
            \(page.locks.isEmpty ? "<p>No locks are paired to your account yet.</p>" : HTML.empty)
            <div class="scroll"><table><thead><tr><th>Name</th><th>Model</th><th>Online</th><th>Battery</th><th>Lock</th>
            <th>Door</th><th>Last seen</th><th></th></tr></thead><tbody>\(rows)</tbody></table></div>\(next)
            """)
    }

    func actionButtons(_ account: SignedIn, _ lock: Lock) -> HTML {
        let buttons: [HTML] = [("lock", lock.capabilities.canRemotelyLock), ("unlock", lock.capabilities.canRemotelyUnlock)]
            .filter(\.1).map { action, _ in
                "<button type=\"submit\" name=\"action\" value=\"\(action)\" id=\"\(action)-\(lock.id)\">\(action.capitalized)</button>"
            }
        guard !buttons.isEmpty else { return .empty }
        return """
            <form method="post" action="\(path("/locks/"))\(lock.id)/actions"><input type="hidden" name="csrf_token" value="\(account.csrfToken)">\(buttons)</form>
            """
    }

    func lockPage(_ account: SignedIn, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        return try await renderLockPage(account, lock, query: Self.query(request) ?? FormParameters(), state: LockPageState())
    }

    func renderLockPage(_ account: SignedIn, _ lock: Lock, query: FormParameters, state: LockPageState) async throws -> Response {
        let owner = account.owner.id
        let seen = try await locks.lastSeen(ownerID: owner, lockIDs: [lock.id])[lock.id]
        let showEnded = query["codes"] == "all"
        let codes = try await accessCodes.list(ownerID: owner, lockID: lock.id, filter: showEnded ? .all : .live, limit: nil, cursor: nil)?.codes ?? []
        func error(_ form: String) -> HTML {
            state.errorForm == form ? "<p class=\"error\" role=\"alert\" id=\"\(form)-error\">\(state.error)</p>" : .empty
        }
        // The outcome of the last lock or unlock, reloaded every second while the lock has not answered.
        var actionBox = HTML.empty
        var refresh: Int?
        if let actionID = query["action"].flatMap(UUID.init(uuidString:)),
            let action = try await actions.find(ownerID: owner, lockID: lock.id, actionID: actionID)
        {
            if action.status == "pending" { refresh = 1 }
            actionBox = """
                <p class="notice" id="action-status">\(action.action.capitalized): <strong class="status-\(action.status)">\(action.status)</strong>\
                \(action.message.map { " — \($0)" } ?? "")\(HTML.when(action.status == "pending", " (this page refreshes until the lock answers)"))</p>
                """
        }
        var issuedBox = HTML.empty
        if let issuedID = query["issued"].flatMap(UUID.init(uuidString:)),
            let code = try await accessCodes.find(ownerID: owner, id: issuedID), code.lockID == lock.id
        {
            issuedBox = """
                <div class="notice" id="issued"><p>\(code.isOffline ? "Offline PIN" : "Access code") for <strong>\(code.name ?? "unnamed")</strong>\
                \(code.offlineKind.map { " (\($0.rawValue))" } ?? ""):</p>
                <p class="pin" id="issued-pin">\(code.code)</p>
                <p>Valid \(AccountLayout.time(code.startsAt, in: lock.timezone)) to \(AccountLayout.time(code.endsAt, in: lock.timezone)).</p>
                \(code.warnings.map { "<p class=\"muted\">\($0.message)</p>" as HTML })</div>
                """
        }
        let warnings: [HTML] = lock.warnings.map { "<li>\($0.message)</li>" }
        let body: HTML = """
            <p><a href="\(path("/locks"))">← All locks</a></p>
            <h1 id="lock-name">\(lock.name)</h1>
            \(actionBox)\(issuedBox)\(error("action"))\(error("remove"))
            <div class="scroll"><table>
            <tr><th>Model</th><td>\(lock.model)</td></tr>
            <tr><th>Online</th><td id="online">\(lock.online ? "online" : "offline")</td></tr>
            <tr><th>Battery</th><td>\(lock.batteryLevel.map { "\($0) %" } ?? "—")</td></tr>
            <tr><th>Lock</th><td id="lock-state">\(lock.lockState)</td></tr>
            <tr><th>Door</th><td id="door-state">\(lock.doorState)</td></tr>
            <tr><th>Last seen</th><td>\(AccountLayout.time(seen, in: lock.timezone))</td></tr>
            <tr><th>Time zone</th><td>\(lock.timezone)</td></tr>
            </table></div>
            \(HTML.when(!warnings.isEmpty, "<ul class=\"error\">\(warnings)</ul>"))
            \(actionButtons(account, lock))
            <form method="post" action="\(path("/locks/"))\(lock.id)/rename">
            <input type="hidden" name="csrf_token" value="\(account.csrfToken)">
            <label for="name">Name</label>\(error("rename"))
            <input id="name" name="name" type="text" maxlength="200" required value="\((state.errorForm == "rename" ? state.fields?["name"] : nil) ?? lock.name)">
            <button type="submit" id="rename">Rename</button>
            </form>
            \(codesSection(account, lock, codes: codes, showEnded: showEnded, state: state, error: error))
            """
        return AccountLayout.page(state.status, title: lock.name, account: account, basePath: basePath, refreshSeconds: refresh, body: body)
    }

    func rename(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        do {
            guard try await locks.update(ownerID: account.owner.id, lockID: lock.id, name: fields["name"] ?? "", address: nil, timezone: nil) != nil
            else { return lockNotFound(account) }
        } catch let error as LockError {
            return try await renderLockPage(account, lock, query: FormParameters(), state: .failed(.badRequest, "rename", APIHandler.apiError(error).message, fields))
        }
        return OAuthAuthorizePages.seeOther(path("/locks/\(lock.id.uuidString.lowercased())"))
    }

    /// Lock or unlock through the API's own path (`ActionStore.request`): the same checks, the
    /// same command to the lock, the same events. The action belongs to no OAuth client.
    func requestAction(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let lock = try await pathLock(account, context) else { return lockNotFound(account) }
        guard let action = fields["action"], action == "lock" || action == "unlock" else {
            return try await renderLockPage(account, lock, query: FormParameters(), state: .failed(.badRequest, "action", "Choose lock or unlock.", fields))
        }
        let message: String
        let status: HTTPResponse.Status
        do {
            let queued = try await actions.request(ownerID: account.owner.id, lockID: lock.id, action: action, customID: nil, clientID: nil)
            return OAuthAuthorizePages.seeOther(path("/locks/\(lock.id.uuidString.lowercased())?action=\(queued.id.uuidString.lowercased())"))
        } catch ActionError.lockNotFound {
            return lockNotFound(account)
        } catch ActionError.deviceOffline {
            (status, message) = (.conflict, "The lock is offline.")
        } catch ActionError.unsupportedAction {
            (status, message) = (.badRequest, APIHandler.unsupportedActionMessage(action))
        }
        return try await renderLockPage(account, lock, query: FormParameters(), state: .failed(status, "action", message, fields))
    }
}
