/// A self-signed certificate for hooks.example.test (P-256, valid until 2126), made with
/// `openssl req -x509` for these tests only: the https receiver serves it and the sender trusts it.
enum TestCertificate {
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBsDCCAVagAwIBAgIUJhf51/MBeodYZ7KunTa9Q8NaP3IwCgYIKoZIzj0EAwIw
        HTEbMBkGA1UEAwwSaG9va3MuZXhhbXBsZS50ZXN0MCAXDTI2MTIwMTIyMzMxNloY
        DzIxMjYxMTA3MjIzMzE2WjAdMRswGQYDVQQDDBJob29rcy5leGFtcGxlLnRlc3Qw
        WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATL/gU2w/ebsU74flS8fYK8txqfN62G
        bZDYjV0p7YdF+WU3SVXU01yU5B9gPiIVUhwRZcWnHs+XsIZGRLmWJ6e8o3IwcDAd
        BgNVHQ4EFgQUeVi182hT5pLgGe9zbMEcSjBWrxkwHwYDVR0jBBgwFoAUeVi182hT
        5pLgGe9zbMEcSjBWrxkwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHREEFjAUghJob29r
        cy5leGFtcGxlLnRlc3QwCgYIKoZIzj0EAwIDSAAwRQIhAO46yNF98Te2wkxxs2SX
        Jt55wGnCBZcfuWUVeHLSaclpAiAU8X0ByKbd8mZoYkemmOUxUbx5sRAW+iUAKT7B
        a63hJg==
        -----END CERTIFICATE-----
        """
    static let key = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgi5EwB/ELpotTGd3l
        CnQjP4z/VOxejeIXUU6FxIj0PxihRANCAATL/gU2w/ebsU74flS8fYK8txqfN62G
        bZDYjV0p7YdF+WU3SVXU01yU5B9gPiIVUhwRZcWnHs+XsIZGRLmWJ6e8
        -----END PRIVATE KEY-----
        """
}
