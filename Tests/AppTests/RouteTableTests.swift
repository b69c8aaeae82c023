@testable import App
import HTTPTypes
import Testing

@Suite("Route table: 405 for a known path, 404 for an unknown one")
struct RouteTableTests {
    @Test("methods are found for concrete paths, parameters match one segment")
    func matches() {
        let table = RouteTable()
        table.record(path: "/locks", method: .get)
        table.record(path: "/locks", method: .post)
        table.record(path: "/locks/{lock_id}", method: .get)
        table.record(path: "/locks/{lock_id}", method: .delete)
        #expect(table.methods(forPath: "/locks") == [.get, .post])
        #expect(table.methods(forPath: "/locks/") == [.get, .post])
        #expect(table.methods(forPath: "/locks/abc") == [.get, .delete])
        #expect(table.methods(forPath: "/locks/abc/extra").isEmpty)
        #expect(table.methods(forPath: "/unknown").isEmpty)
    }
}
