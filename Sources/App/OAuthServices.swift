import OAuth
import Postgres

/// The authorization server's stores and settings, built once per application.
struct OAuthServices: Sendable {
    let owners: OwnerStore
    let clients: ClientStore
    let requests: AuthorizationRequestStore
    let sessions: SessionStore
    let tokens: TokenService
    let throttle: SignInThrottle
    let trustedProxies: TrustedProxies
    /// Issuer URL, e.g. `http://127.0.0.1:8080` (with the base path).
    let issuer: String
    let basePath: String
    let maxBodyBytes: Int

    init(database: PostgresConnectionPool, config: AppConfiguration) {
        owners = OwnerStore(database: database, hasher: PasswordHasher(cost: UInt8(config.bcryptCost)))
        clients = ClientStore(database: database)
        requests = AuthorizationRequestStore(database: database)
        sessions = SessionStore(database: database)
        tokens = TokenService(
            database: database,
            settings: TokenSettings(
                accessTokenLifetime: config.accessTokenSeconds, refreshTokenIdleLifetime: config.refreshTokenIdleSeconds))
        throttle = SignInThrottle(database: database)
        trustedProxies = config.trustedProxies
        issuer = config.publicURL
        basePath = config.basePath
        maxBodyBytes = config.maxBodyBytes
    }

    /// Cookies are `Secure` whenever the public address is https.
    var secureCookies: Bool { issuer.hasPrefix("https://") }
}
