import Foundation
import HTTPTypes
import Hummingbird
import Locks
import OAuth
import Webhooks

/// Connected apps (with revoke), the activity log, and the password form.
extension AccountPages {
    func appsPage(_ account: SignedIn, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let connected = try await apps.list(ownerID: account.owner.id)
        let rows: [HTML] = connected.map { app in
            """
            <tr id="app-\(app.clientID)"><td><strong>\(app.name)</strong><br><span class="muted">\(app.clientID)</span></td>
            <td>\(app.scopes.joined(separator: " "))</td><td>\(AccountLayout.time(app.grantedAt))</td><td>\(AccountLayout.time(app.lastUsedAt))</td>
            <td><form method="post" action="\(path("/apps/"))\(URLFormEncoding.encodeComponent(app.clientID))/revoke">
            <input type="hidden" name="csrf_token" value="\(account.csrfToken)">
            <button type="submit" id="revoke-\(app.clientID)">Revoke</button></form></td></tr>
            """
        }
        let notice: HTML = Self.query(request)?["notice"] == "revoked"
            ? "<p class=\"notice\" role=\"status\" id=\"revoked\">Access ended: the app's tokens no longer work and its webhooks get none of your events.</p>" : .empty
        return AccountLayout.page(.ok, title: "Connected apps", account: account, basePath: basePath, body: """
            <h1>Connected apps</h1>\(notice)
            <p>Apps you allowed to use your locks. Revoking one ends its access at once: every token it holds stops working and its webhooks stop receiving your events. It can ask you again later.</p>
            \(connected.isEmpty ? "<p id=\"no-apps\">No app has access to your account.</p>" as HTML : """
            <div class="scroll"><table><thead><tr><th>App</th><th>Access</th><th>Allowed</th><th>Last token issued</th><th></th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            """)
            """)
    }

    func revokeApp(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard let clientID = context.parameters.get("client_id"), try await apps.revoke(ownerID: account.owner.id, clientID: clientID) else {
            return AccountLayout.message(.notFound, title: "App not found", text: "No connected app with this id.", basePath: basePath, account: account)
        }
        return OAuthAuthorizePages.seeOther(path("/apps?notice=revoked"))
    }

    static let activityPageSize = 50

    /// Event types an owner can filter by: what LockCloud emits (the guides' second name of
    /// the low-battery event is left out; events carry the first).
    static let activityTypes = Webhook.eventTypes.subtracting(["battery.low"]).sorted()

    func activityPage(_ account: SignedIn, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        func invalid(_ text: String) -> Response {
            AccountLayout.message(.badRequest, title: "Invalid filter", text: text, basePath: basePath, account: account)
        }
        guard let query = Self.query(request) else { return invalid("This link is malformed.") }
        let lockFilter = query["lock"].flatMap { $0.isEmpty ? nil : $0 }
        let typeFilter = query["type"].flatMap { $0.isEmpty ? nil : $0 }
        let lockID = lockFilter.flatMap(UUID.init(uuidString:))
        if lockFilter != nil && lockID == nil { return invalid("lock is not a lock id.") }
        if let typeFilter, !Self.activityTypes.contains(typeFilter) { return invalid("There is no event type like this.") }
        let before = query["before"].flatMap(Int64.init)
        if query["before"] != nil && (before ?? 0) <= 0 { return invalid("This page link is not valid.") }

        // Another owner's lock id filters to nothing: the events are the signed-in owner's only.
        let page = try await activity.page(ownerID: account.owner.id, lockID: lockID, type: typeFilter, before: before, limit: Self.activityPageSize)
        let owned = try await locks.list(ownerID: account.owner.id, limit: 1000, cursor: nil).locks
        let rows: [HTML] = page.entries.map { entry in
            """
            <tr><td>\(AccountLayout.time(entry.occurredAt))</td><td>\(entry.lockName ?? "—")</td>
            <td class="event-type">\(entry.type)</td><td>\(Self.summary(entry.data))</td></tr>
            """
        }
        let lockOptions: [HTML] = owned.map { "<option value=\"\($0.id)\"\(HTML.when($0.id == lockID, " selected"))>\($0.name)</option>" }
        let typeOptions: [HTML] = Self.activityTypes.map { "<option\(HTML.when($0 == typeFilter, " selected"))>\($0)</option>" }
        var older = HTML.empty
        if let next = page.nextBefore {
            let parameters = [("lock", lockFilter), ("type", typeFilter), ("before", String(next))].compactMap { name, value in
                value.map { (name: name, value: $0) }
            }
            older = "<p><a id=\"older\" href=\"\(path("/activity?"))\(URLFormEncoding.encode(parameters))\">Older events</a></p>"
        }
        return AccountLayout.page(.ok, title: "Activity", account: account, basePath: basePath, body: """
            <h1>Activity</h1>
            <form method="get" action="\(path("/activity"))" class="filters">
            <div><label for="lock">Lock</label><select id="lock" name="lock"><option value="">All locks</option>\(lockOptions)</select></div>
            <div><label for="type">Event</label><select id="type" name="type"><option value="">All events</option>\(typeOptions)</select></div>
            <button type="submit" id="filter">Show</button></form>
            \(page.entries.isEmpty ? "<p>No events.</p>" : HTML.empty)
            <div class="scroll"><table><thead><tr><th>When</th><th>Lock</th><th>Event</th><th>Details</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>\(older)
            """)
    }

    /// The fields of an event that say what happened, in a line; ids and PINs are left out.
    static func summary(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return "" }
        let keys = ["action", "status", "error_code", "method", "performed_via", "name", "battery_level", "message"]
        return keys.compactMap { key in
            guard let value = object[key], !(value is NSNull) else { return nil }
            return "\(key.replacingOccurrences(of: "_", with: " ")): \(value)"
        }.joined(separator: "; ")
    }

    func passwordPage(_ account: SignedIn, notice: String?, status: HTTPResponse.Status = .ok, error: String? = nil) -> Response {
        let message: HTML = if let error {
            "<p class=\"error\" role=\"alert\" id=\"password-error\">\(error)</p>"
        } else if notice == "changed" {
            "<p class=\"notice\" role=\"status\" id=\"password-changed\">Password changed. Every other browser signed in to your account has been signed out.</p>"
        } else { .empty }
        return AccountLayout.page(status, title: "Password", account: account, basePath: basePath, body: """
            <h1>Change password</h1>\(message)
            <form method="post" action="\(path("/password"))"><input type="hidden" name="csrf_token" value="\(account.csrfToken)">
            <label for="current">Current password</label><input id="current" name="current_password" type="password" autocomplete="current-password" required>
            <label for="new">New password (8 to 72 characters)</label><input id="new" name="new_password" type="password" autocomplete="new-password" minlength="8" required>
            <label for="repeat">New password again</label><input id="repeat" name="repeat_password" type="password" autocomplete="new-password" required>
            <button type="submit" id="change-password">Change password</button></form>
            <p class="muted">Changing it signs out every other browser. Apps you connected keep their access; revoke them under Connected apps.</p>
            """)
    }

    /// The current password is checked like a sign-in (throttled and counted), so a stolen
    /// session cannot be used to guess it.
    func changePassword(_ account: SignedIn, _ fields: FormParameters, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let new = fields["new_password"] ?? ""
        guard new == fields["repeat_password"] ?? "" else {
            return passwordPage(account, notice: nil, status: .badRequest, error: "The new password and its repetition differ.")
        }
        let address = services.trustedProxies.clientAddress(peer: context.peerAddress, headers: request.headers)
        if try await services.throttle.isBlocked(email: account.owner.email, address: address) {
            return passwordPage(account, notice: nil, status: .tooManyRequests, error: "Too many wrong passwords. Wait a few minutes, then try again.")
        }
        switch try await services.owners.changePassword(
            ownerID: account.owner.id, current: fields["current_password"] ?? "", new: new, keepingSession: account.session,
            sessions: services.sessions)
        {
        case .changed:
            return OAuthAuthorizePages.seeOther(path("/password?notice=changed"))
        case .wrongCurrentPassword:
            try await services.throttle.recordFailure(email: account.owner.email, address: address)
            return passwordPage(account, notice: nil, status: .badRequest, error: "The current password is incorrect.")
        case .weakPassword:
            return passwordPage(account, notice: nil, status: .badRequest, error: "The new password must be 8 to 72 characters (at most 72 bytes).")
        }
    }
}
