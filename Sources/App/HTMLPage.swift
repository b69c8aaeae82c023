import HTTPTypes
import Hummingbird
import NIOCore

/// Server-rendered pages of the authorization flow. Plain HTML forms, no JavaScript; every
/// interpolated value goes through `escape`.
enum HTMLPage {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Headers every page carries: no framing (clickjacking), no caching, no referrer leak of
    /// the query string, a strict content policy (inline styles only).
    static func headers(status: HTTPResponse.Status = .ok) -> HTTPFields {
        [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
    }

    static func response(_ status: HTTPResponse.Status, title: String, body: String, extraHeaders: HTTPFields = [:]) -> Response {
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · LockCloud</title>
            <style>
            body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:2rem}
            main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
            h1{font-size:1.4rem;margin-top:0} label{display:block;margin:1rem 0 .3rem}
            input[type=email],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
            button{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem} .error{color:#b00020}
            .actions{display:flex;gap:.8rem} ul{padding-left:1.2rem}
            </style></head>
            <body><main>
            \(body)
            </main></body></html>
            """
        var headers = Self.headers()
        for field in extraHeaders { headers.append(field) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static func error(_ status: HTTPResponse.Status, title: String, message: String) -> Response {
        response(status, title: title, body: "<h1>\(escape(title))</h1><p class=\"error\">\(escape(message))</p>")
    }

    static func signIn(clientName: String, csrfToken: String, action: String, message: String?, email: String) -> Response {
        let notice = message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        return response(.ok, title: "Sign in", body: """
            <h1>Sign in to LockCloud</h1>
            <p><strong>\(escape(clientName))</strong> wants to access your locks.</p>
            \(notice)
            <form method="post" action="\(escape(action))">
            <input type="hidden" name="csrf_token" value="\(escape(csrfToken))">
            <input type="hidden" name="action" value="sign_in">
            <label for="email">Email</label>
            <input id="email" name="email" type="email" autocomplete="username" required value="\(escape(email))">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit" id="sign-in">Sign in</button>
            </form>
            """)
    }

    static func consent(clientName: String, ownerEmail: String, scopes: [String], csrfToken: String, action: String) -> Response {
        let descriptions = [
            "locks.read": "See your locks, their state and their access codes",
            "locks.write": "Lock and unlock your locks and manage their access codes",
        ]
        let items = scopes.map { "<li><code>\(escape($0))</code>: \(escape(descriptions[$0] ?? $0))</li>" }.joined()
        return response(.ok, title: "Allow access", body: """
            <h1>Allow \(escape(clientName)) to access your locks?</h1>
            <p>Signed in as <strong>\(escape(ownerEmail))</strong>.</p>
            <p><strong>\(escape(clientName))</strong> asks for:</p>
            <ul>\(items)</ul>
            <form method="post" action="\(escape(action))">
            <input type="hidden" name="csrf_token" value="\(escape(csrfToken))">
            <div class="actions">
            <button type="submit" name="action" value="approve" id="approve">Allow</button>
            <button type="submit" name="action" value="deny" id="deny">Deny</button>
            </div>
            </form>
            """)
    }
}
