/// Whether reads may try the read replica right now. A replica that failed (down, refusing
/// connections, timing out) is left alone for `backOff`, so reads go straight to the primary
/// instead of each waiting for a connect timeout; after that one read probes it while the
/// others still use the primary, and only the probe's success opens it to every read again.
struct ReplicaHealth: Sendable {
    enum State: Equatable, Sendable {
        case healthy
        case down(until: ContinuousClock.Instant)
        case probing
    }

    enum Admission: Equatable, Sendable {
        /// Use the replica.
        case use
        /// Use the replica as the one probe after a back-off; report how it went.
        case probe
        /// Use the primary: the replica failed recently, or another read is probing it.
        case skip
    }

    let backOff: Duration
    private(set) var state: State = .healthy

    init(backOff: Duration) { self.backOff = backOff }

    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        switch state {
        case .healthy:
            return .use
        case .down(let until) where now >= until:
            state = .probing
            return .probe
        case .down, .probing:
            return .skip
        }
    }

    /// The replica answered (a read, or its replay position).
    mutating func succeeded() { state = .healthy }

    /// The replica could not be used: no read tries it again before `now + backOff`.
    mutating func failed(now: ContinuousClock.Instant) { state = .down(until: now + backOff) }

    /// A probe that ended without learning anything (the request was cancelled, or refused
    /// before reaching the database) hands the probe on to the next read.
    mutating func abandonedProbe(now: ContinuousClock.Instant) {
        if state == .probing { state = .down(until: now) }
    }
}
