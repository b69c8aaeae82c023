import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OAuth

/// The frame of every owner page: the sign-in pages' headers (`HTMLPage.headers`: no framing,
/// strict CSP, no caching), a navigation bar with a sign-out form, and a layout that reads on
/// a phone (one column, tables scroll sideways inside their box).
enum AccountLayout {
    static func page(
        _ status: HTTPResponse.Status, title: String, account: AccountPages.SignedIn?, basePath: String,
        narrow: Bool = false, refreshSeconds: Int? = nil, body: HTML
    ) -> Response {
        let nav: HTML = account.map { account -> HTML in
            """
            <nav><a href="\(basePath)/account/locks">Locks</a><a href="\(basePath)/account/activity">Activity</a>
            <a href="\(basePath)/account/apps">Connected apps</a><a href="\(basePath)/account/password">Password</a>
            <form method="post" action="\(basePath)/account/sign-out"><input type="hidden" name="csrf_token" value="\(account.csrfToken)">
            <button type="submit" id="sign-out" class="link">Sign out</button></form>
            <span class="who">\(account.owner.email)</span></nav>
            """
        } ?? .empty
        let refresh: HTML = refreshSeconds.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? .empty
        let html: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">\(refresh)
            <title>\(title) · LockCloud</title>
            <style>
            body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d1d1f}
            nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center;background:#1f3a5f;padding:.7rem 1rem}
            nav a,nav .link{color:#fff;text-decoration:none;font-size:1rem} nav form{margin:0} nav button{margin:0} nav .who{color:#c8d3e0;margin-left:auto;font-size:.9rem}
            .link{background:none;border:none;padding:0;cursor:pointer;text-decoration:underline}
            main{max-width:60rem;margin:1rem auto;background:#fff;padding:1rem 1.2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
            main.narrow{max-width:26rem;margin-top:3rem}
            h1{font-size:1.4rem;margin:.2rem 0 1rem} h2{font-size:1.1rem;margin-top:1.6rem}
            .scroll{overflow-x:auto} table{border-collapse:collapse;width:100%;font-size:.95rem}
            th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid #e3e5e8;vertical-align:top}
            th{font-weight:600;background:#f7f8fa}
            label{display:block;margin:.7rem 0 .25rem;font-weight:500}
            input,select{padding:.45rem;font-size:1rem;max-width:100%;box-sizing:border-box}
            input[type=email],input[type=password],input[type=text]{width:100%}
            button{padding:.45rem .9rem;font-size:1rem;margin-top:.6rem;cursor:pointer}
            td form{display:inline;margin:0} td button{margin:0 .2rem .2rem 0}
            .error{color:#b00020;font-weight:500} .notice{background:#e8f4ea;padding:.6rem;border-radius:4px}
            .pin{font-family:ui-monospace,monospace;font-size:1.6rem;letter-spacing:.15rem}
            .status-success,.status-active{color:#1b7f3b} .status-failed{color:#b00020} .status-pending{color:#9a6700}
            fieldset{border:1px solid #e3e5e8;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
            .muted{color:#666;font-size:.9rem}
            .filters{display:flex;flex-wrap:wrap;gap:.2rem 1rem;align-items:flex-end;margin-bottom:1rem} .filters label{margin-top:0}
            </style></head>
            <body>\(nav)<main\(HTML.when(narrow, " class=\"narrow\""))>
            \(body)
            </main></body></html>
            """
        return Response(status: status, headers: HTMLPage.headers(), body: .init(byteBuffer: ByteBuffer(string: html.text)))
    }

    /// A page with one message: errors, and what a missing lock, code or app looks like.
    static func message(
        _ status: HTTPResponse.Status, title: String, text: String, basePath: String, account: AccountPages.SignedIn? = nil
    ) -> Response {
        page(status, title: title, account: account, basePath: basePath, narrow: account == nil, body: """
            <h1>\(title)</h1><p class="error">\(text)</p>
            <p><a href="\(basePath)/account">Back to your account</a></p>
            """)
    }

    /// `2026-12-02 05:01:02 UTC`, or in a lock's time zone `2026-12-02 06:01 CET` (what its
    /// forms are typed in); a dash for none.
    static func time(_ date: Date?, in timezone: String? = nil) -> String {
        guard let date else { return "—" }
        guard let timezone, let zone = TimeZone(identifier: timezone) else {
            return date.formatted(.iso8601).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: date)
    }
}
