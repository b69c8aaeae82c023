@testable import Postgres
import Testing

@Suite("When reads may try the read replica: back off after a failure, then one probe")
struct ReplicaHealthTests {
    let start = ContinuousClock.now

    @Test("a healthy replica takes every read")
    func healthy() {
        var health = ReplicaHealth(backOff: .seconds(5))
        #expect(health.admit(now: start) == .use)
        #expect(health.admit(now: start) == .use)
    }

    @Test("after a failure no read tries it for the back-off, then exactly one probes it")
    func backOffThenOneProbe() {
        var health = ReplicaHealth(backOff: .seconds(5))
        health.failed(now: start)
        #expect(health.admit(now: start + .seconds(4)) == .skip)
        #expect(health.admit(now: start + .seconds(5)) == .probe)
        #expect(health.admit(now: start + .seconds(5)) == .skip)
        #expect(health.admit(now: start + .seconds(60)) == .skip)
        health.succeeded()
        #expect(health.admit(now: start + .seconds(60)) == .use)
    }

    @Test("a failed probe starts a new back-off from its own failure")
    func failedProbe() {
        var health = ReplicaHealth(backOff: .seconds(5))
        health.failed(now: start)
        #expect(health.admit(now: start + .seconds(6)) == .probe)
        health.failed(now: start + .seconds(7))
        #expect(health.admit(now: start + .seconds(11)) == .skip)
        #expect(health.admit(now: start + .seconds(12)) == .probe)
    }

    @Test("a probe abandoned without an answer hands the probe to the next read at once")
    func abandonedProbe() {
        var health = ReplicaHealth(backOff: .seconds(5))
        health.failed(now: start)
        #expect(health.admit(now: start + .seconds(5)) == .probe)
        health.abandonedProbe(now: start + .seconds(6))
        #expect(health.admit(now: start + .seconds(6)) == .probe)
    }

    @Test("abandoning a read that was no probe changes nothing")
    func abandonedRead() {
        var health = ReplicaHealth(backOff: .seconds(5))
        health.abandonedProbe(now: start)
        #expect(health.state == .healthy)
        health.failed(now: start)
        health.abandonedProbe(now: start)
        #expect(health.admit(now: start + .seconds(1)) == .skip)
    }

    @Test("WAL positions print as PostgreSQL writes LSNs and compare as numbers")
    func walPositions() {
        #expect(WALPosition(bytes: 0x16_B374_D848).description == "16/B374D848")
        #expect(WALPosition(bytes: 0).description == "0/0")
        #expect(WALPosition(bytes: 0x1_0000_0000) > WALPosition(bytes: 0xFFFF_FFFF))
    }
}
