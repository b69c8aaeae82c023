import NIOConcurrencyHelpers

/// One report of the lock's state to the gateway at a time, each sent whole before the next
/// starts: what a lock with one radio does.
///
/// Why: the simulated lock heartbeats and answers commands from two tasks on two connections.
/// A heartbeat that read `lock_state` just before an unlock carried out could reach the gateway
/// after the command's result and set the lock back to what it was (seen once in `make test`:
/// a lock reported `unlocked` after its lock command succeeded). Reports taken in order here
/// arrive in order.
final class UplinkOrder: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Runs `report` once every earlier one has finished (first come, first served).
    func inOrder<T: Sendable>(_ report: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await report()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Hands the turn to the first waiter, or frees it.
    private func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
