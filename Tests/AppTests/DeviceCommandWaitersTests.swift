@testable import App
import Foundation
import Locks
import Logging
import Postgres
import Testing

/// The rules that make a wake-up impossible to lose and a "known empty" mark impossible to
/// trust too long (`DeviceCommandWaiters`); the HTTP side is in pytests/test_device_notifications.py.
@Suite("device command waiters")
struct DeviceCommandWaitersTests {
    let lock = UUID()
    var farAway: ContinuousClock.Instant { .now + .seconds(3600) }

    @Test("a wake between the query and the wait is kept: the wait returns at once")
    func wakeBeforeWait() async {
        let waiters = DeviceCommandWaiters()
        let ticket = waiters.register(lockID: lock)
        waiters.wake(lockID: lock)
        #expect(await waiters.wait(ticket, until: farAway))
        waiters.withdraw(ticket)
        #expect(waiters.waitingCount == 0)
    }

    @Test("a suspended wait is resumed by a wake of its lock only")
    func wakeResumes() async throws {
        let waiters = DeviceCommandWaiters()
        let mine = waiters.register(lockID: lock)
        let other = UUID()
        let waiting = Task { await waiters.wait(mine, until: farAway) }
        while waiters.waitingCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        waiters.wake(lockID: other)
        #expect(waiters.waitingCount == 1)
        waiters.wake(lockID: lock)
        #expect(await waiting.value)
        waiters.withdraw(mine)
    }

    @Test("a wait past its deadline is answered by expire, not woken")
    func deadline() async throws {
        let waiters = DeviceCommandWaiters()
        let ticket = waiters.register(lockID: lock)
        let deadline = farAway
        let waiting = Task { await waiters.wait(ticket, until: deadline) }
        while waiters.waitingCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        waiters.expire(now: deadline - .seconds(1))
        #expect(waiters.waitingCount == 1)
        waiters.expire(now: deadline)
        #expect(await waiting.value == false)
        #expect(waiters.waitingCount == 0)
    }

    @Test("expiry takes the due waits only: a wait woken early, or waiting again with a later deadline, is not cut short")
    func expiryByDeadline() async throws {
        let waiters = DeviceCommandWaiters()
        let base = ContinuousClock.now + .seconds(3600)
        let early = waiters.register(lockID: lock)
        let late = waiters.register(lockID: UUID())
        let first = Task { await waiters.wait(early, until: base) }
        let second = Task { await waiters.wait(late, until: base + .seconds(20)) }
        while waiters.waitingCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
        // The early ticket is woken, then waits again until later than its first deadline.
        waiters.wake(lockID: lock)
        #expect(await first.value)
        waiters.rearm(early)
        let again = Task { await waiters.wait(early, until: base + .seconds(10)) }
        while waiters.waitingCount < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(waiters.heldDeadlines == 3)
        waiters.expire(now: base)  // only the first wait's stale entry is due: nobody resumes
        #expect(waiters.waitingCount == 2)
        waiters.expire(now: base + .seconds(10))
        #expect(await again.value == false)
        #expect(waiters.waitingCount == 1)
        waiters.expire(now: base + .seconds(20))
        #expect(await second.value == false)
        #expect(waiters.waitingCount == 0)
        #expect(waiters.heldDeadlines == 0)
    }

    @Test("a long poll's ticket goes with its last reference, also when its answer is never written")
    func longPollTicketIsReturned() async {
        // Nothing here connects: the pool and the listener are made but never used.
        let settings = PostgresConnectionSettings(url: "postgresql://127.0.0.1:1/unused")
        let pool = PostgresConnectionPool(connection: settings, pool: .init(size: 1), logger: Logger(label: "test"))
        let gateway = DeviceGatewayStore(database: pool)
        let notifications = DeviceCommandNotifications(gateway: gateway, settings: settings, logger: Logger(label: "test"))
        var poll: DeviceLongPoll? = DeviceLongPoll(lockID: lock, notifications: notifications, gateway: gateway)
        #expect(notifications.waiters.waitingLockIDs == [lock])
        withExtendedLifetime(poll) {}
        poll = nil
        #expect(notifications.waiters.waitingLockIDs.isEmpty)
        await pool.shutdown()
    }

    @Test("cancelling the waiting task and shutting down both resume the wait")
    func cancelAndShutDown() async throws {
        let waiters = DeviceCommandWaiters()
        let first = waiters.register(lockID: lock)
        let cancelled = Task { await waiters.wait(first, until: farAway) }
        while waiters.waitingCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        cancelled.cancel()
        #expect(await cancelled.value == false)

        let second = waiters.register(lockID: lock)
        let stopped = Task { await waiters.wait(second, until: farAway) }
        while waiters.waitingCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        waiters.shutDown()
        #expect(await stopped.value == false)
        // Later waits return at once.
        #expect(await waiters.wait(waiters.register(lockID: lock), until: farAway) == false)
    }

    @Test("known empty: only in the generation it was learned, never after a wake, and void when lost")
    func knownEmpty() {
        let waiters = DeviceCommandWaiters()
        let ticket = waiters.register(lockID: lock)
        waiters.markEmpty(ticket, generation: 1)
        #expect(waiters.isKnownEmpty(lock, generation: 1))
        #expect(!waiters.isKnownEmpty(lock, generation: 2))
        #expect(!waiters.isKnownEmpty(lock, generation: nil))

        // A wake clears the mark, and a query that a wake overtook cannot set it.
        waiters.wake(lockID: lock)
        #expect(!waiters.isKnownEmpty(lock, generation: 1))
        waiters.markEmpty(ticket, generation: 1)
        #expect(!waiters.isKnownEmpty(lock, generation: 1))
        waiters.rearm(ticket)
        waiters.markEmpty(ticket, generation: 1)
        #expect(waiters.isKnownEmpty(lock, generation: 1))

        // Not listening: nothing is recorded.
        waiters.rearm(ticket)
        waiters.markEmpty(ticket, generation: nil)
        waiters.forgetKnownEmpty()
        #expect(!waiters.isKnownEmpty(lock, generation: 1))
    }

    @Test("a cached credential is refused after its revocation, even one that raced the lookup")
    func credentialCache() {
        let cache = DeviceCredentialCache()
        let hash = PostgresBytes(Array("credential".utf8))
        let device = (lockID: lock, ownerID: UUID())
        cache.store(hash, device, generation: 1, stamp: cache.stamp())
        #expect(cache.lookup(hash, generation: 1)?.lockID == lock)
        #expect(cache.lookup(hash, generation: 2) == nil)
        #expect(cache.lookup(hash, generation: nil) == nil)

        cache.revoke(lockID: lock)
        #expect(cache.lookup(hash, generation: 1) == nil)

        // The lookup read the lock before the revocation arrived: its answer is not kept.
        let stamp = cache.stamp()
        cache.revoke(lockID: lock)
        cache.store(hash, device, generation: 1, stamp: stamp)
        #expect(cache.lookup(hash, generation: 1) == nil)
    }
}
