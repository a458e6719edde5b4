package sqlstore

// RetentionPickQuery is the retention sweep's query for its next conversation, for the test that
// checks that it is answered by an index.
const RetentionPickQuery = retentionPickQuery
