import Foundation
import HeapModule
import NIOConcurrencyHelpers

/// The locks waiting in a long poll on this instance, and what this instance knows about their
/// command queues without asking the database.
///
/// A waiting lock holds a `Ticket`. `wake(lockID:)` (a command was created for it, on any
/// instance: `DeviceCommandNotifications`) resumes its waits; a wake that comes while the lock
/// is between waits (say, during its query) is kept in the ticket, so it is never lost.
///
/// "Known empty": a lock whose last query found no command, while notifications were being
/// received and none came for it since, has none now; its next poll skips the query. Such a
/// mark belongs to the notification connection's `generation`, so every mark is void once that
/// connection is lost (notifications may have been missed meanwhile).
final class DeviceCommandWaiters: Sendable {
    struct Ticket: Sendable, Hashable {
        let lockID: UUID
        let id: UInt64
    }

    private struct Waiter {
        var continuation: CheckedContinuation<Void, Never>?
        var deadline: ContinuousClock.Instant = .now
        var woken = false
    }

    /// A wait's deadline, in a min-heap so expiry touches only the waits that are due (with
    /// 10,000 locks waiting, a pass over all of them four times a second was 5 % of the
    /// server's CPU). An entry whose wait ended sooner stays until its time and is skipped.
    private struct Deadline: Comparable {
        let instant: ContinuousClock.Instant
        let ticket: Ticket

        static func < (a: Deadline, b: Deadline) -> Bool { a.instant < b.instant }
        static func == (a: Deadline, b: Deadline) -> Bool { a.instant == b.instant && a.ticket == b.ticket }
    }

    private struct State {
        var waiters: [UUID: [UInt64: Waiter]] = [:]
        var deadlines = Heap<Deadline>()
        var lastTicket: UInt64 = 0
        var knownEmpty: [UUID: UInt64] = [:]
        var isShutDown = false
        var waiting = 0
    }

    /// More marks than this are dropped all at once (a bound on memory, not a cache policy:
    /// the locks simply query once more).
    static let knownEmptyLimit = 1_000_000

    private let state = NIOLockedValueBox(State())

    var isShutDown: Bool { state.withLockedValue { $0.isShutDown } }

    /// Long polls now suspended here; for tests and metrics.
    var waitingCount: Int { state.withLockedValue { $0.waiting } }

    func register(lockID: UUID) -> Ticket {
        state.withLockedValue { state in
            state.lastTicket += 1
            state.waiters[lockID, default: [:]][state.lastTicket] = Waiter()
            return Ticket(lockID: lockID, id: state.lastTicket)
        }
    }

    /// Ends a ticket (the long poll answers).
    func withdraw(_ ticket: Ticket) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            let waiter = state.waiters[ticket.lockID]?.removeValue(forKey: ticket.id)
            if state.waiters[ticket.lockID]?.isEmpty == true { state.waiters[ticket.lockID] = nil }
            if waiter?.continuation != nil { state.waiting -= 1 }
            return waiter?.continuation
        }
        continuation?.resume()
    }

    /// Forgets an earlier wake, before the ticket's holder queries again.
    func rearm(_ ticket: Ticket) {
        state.withLockedValue { $0.waiters[ticket.lockID]?[ticket.id]?.woken = false }
    }

    /// Suspends until the ticket is woken, `deadline` passes (`expire(now:)` checks), the task is
    /// cancelled or the waiters shut down. True when woken.
    func wait(_ ticket: Ticket, until deadline: ContinuousClock.Instant) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    // A cancellation before this point found no continuation to resume.
                    guard !state.isShutDown, !Task.isCancelled, var waiter = state.waiters[ticket.lockID]?[ticket.id], !waiter.woken,
                        deadline > .now
                    else { return true }
                    waiter.continuation = continuation
                    waiter.deadline = deadline
                    state.waiters[ticket.lockID]![ticket.id] = waiter
                    state.deadlines.insert(Deadline(instant: deadline, ticket: ticket))
                    state.waiting += 1
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                guard let continuation = state.waiters[ticket.lockID]?[ticket.id]?.continuation else { return nil }
                state.waiters[ticket.lockID]![ticket.id]!.continuation = nil
                state.waiting -= 1
                return continuation
            }
            continuation?.resume()
        }
        return state.withLockedValue { $0.waiters[ticket.lockID]?[ticket.id]?.woken ?? false }
    }

    /// A command is due for the lock: its waits resume, and its "known empty" mark goes.
    func wake(lockID: UUID) {
        let continuations = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.knownEmpty[lockID] = nil
            guard var waiters = state.waiters[lockID] else { return [] }
            var taken: [CheckedContinuation<Void, Never>] = []
            for id in waiters.keys {
                waiters[id]!.woken = true
                if let continuation = waiters[id]!.continuation {
                    taken.append(continuation)
                    waiters[id]!.continuation = nil
                    state.waiting -= 1
                }
            }
            state.waiters[lockID] = waiters
            return taken
        }
        continuations.forEach { $0.resume() }
    }

    /// Resumes the waits whose deadline has passed (called every `DeviceCommandNotifications.expiryInterval`).
    func expire(now: ContinuousClock.Instant = .now) {
        let continuations = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            var taken: [CheckedContinuation<Void, Never>] = []
            while let due = state.deadlines.min, due.instant <= now {
                state.deadlines.removeMin()
                let ticket = due.ticket
                // Skipped when that wait already ended, or the ticket waits again with a later deadline.
                guard let waiter = state.waiters[ticket.lockID]?[ticket.id], let continuation = waiter.continuation,
                    waiter.deadline <= now
                else { continue }
                taken.append(continuation)
                state.waiters[ticket.lockID]![ticket.id]!.continuation = nil
                state.waiting -= 1
            }
            return taken
        }
        continuations.forEach { $0.resume() }
    }

    /// Deadlines still held for expiry, current or stale (tests: the heap does not grow without bound).
    var heldDeadlines: Int { state.withLockedValue { $0.deadlines.count } }

    /// Resumes every wait and makes later waits return at once (graceful shutdown).
    func shutDown() {
        state.withLockedValue { $0.isShutDown = true }
        let continuations = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            var taken: [CheckedContinuation<Void, Never>] = []
            for (lockID, waiters) in state.waiters {
                for (id, waiter) in waiters where waiter.continuation != nil {
                    taken.append(waiter.continuation!)
                    state.waiters[lockID]![id]!.continuation = nil
                    state.waiting -= 1
                }
            }
            state.deadlines = Heap()
            return taken
        }
        continuations.forEach { $0.resume() }
    }

    /// Locks with a suspended long poll here, for the catch-up query after a lost connection.
    var waitingLockIDs: [UUID] {
        state.withLockedValue { state in state.waiters.compactMap { $0.value.isEmpty ? nil : $0.key } }
    }

    func isKnownEmpty(_ lockID: UUID, generation: UInt64?) -> Bool {
        guard let generation else { return false }
        return state.withLockedValue { $0.knownEmpty[lockID] == generation }
    }

    /// Records that the ticket's query found nothing, unless a wake arrived meanwhile.
    func markEmpty(_ ticket: Ticket, generation: UInt64?) {
        guard let generation else { return }
        state.withLockedValue { state in
            guard state.waiters[ticket.lockID]?[ticket.id]?.woken == false else { return }
            if state.knownEmpty.count >= Self.knownEmptyLimit { state.knownEmpty.removeAll() }
            state.knownEmpty[ticket.lockID] = generation
        }
    }

    /// Voids every "known empty" mark (notifications may have been missed).
    func forgetKnownEmpty() {
        state.withLockedValue { $0.knownEmpty.removeAll() }
    }
}
