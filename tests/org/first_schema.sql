-- The service database as the release before every table was under Alembic made it (commit 94f0010):
-- organisation tables by revisions 0001-0002, the rest by create_all. Frozen: never edit.
CREATE TABLE org_alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT org_alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE regions (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schools (
	id VARCHAR(64) NOT NULL, 
	region_id VARCHAR(64) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	locality VARCHAR(16) NOT NULL, 
	stage VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(region_id) REFERENCES regions (id)
);
CREATE TABLE classes (
	id VARCHAR(64) NOT NULL, 
	school_id VARCHAR(64) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	school_year VARCHAR(16) NOT NULL, 
	grade INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT grade_level CHECK (grade BETWEEN 1 AND 12), 
	FOREIGN KEY(school_id) REFERENCES schools (id)
);
CREATE TABLE people (
	username VARCHAR(32) NOT NULL, 
	display_name VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	school_id VARCHAR(64), 
	PRIMARY KEY (username), 
	FOREIGN KEY(school_id) REFERENCES schools (id)
);
CREATE TABLE credentials (
	username VARCHAR(32) NOT NULL, 
	password_hash VARCHAR(255) NOT NULL, 
	must_change BOOLEAN NOT NULL, 
	failed_attempts INTEGER NOT NULL, 
	locked_until DATETIME, 
	PRIMARY KEY (username), 
	FOREIGN KEY(username) REFERENCES people (username)
);
CREATE TABLE enrollments (
	id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (class_id, username), 
	FOREIGN KEY(class_id) REFERENCES classes (id), 
	FOREIGN KEY(username) REFERENCES people (username)
);
CREATE INDEX ix_enrollments_username ON enrollments (username);
CREATE TABLE exchange_releases (
	id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	version INTEGER NOT NULL, 
	released_by VARCHAR(32) NOT NULL, 
	released_at DATETIME NOT NULL, 
	due_at DATETIME, 
	manifest JSON NOT NULL, 
	archive_sha256 VARCHAR(64) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (class_id, assignment_id, version)
);
CREATE INDEX ix_exchange_releases_class_id ON exchange_releases (class_id);
CREATE TABLE exchange_fetches (
	id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	version INTEGER NOT NULL, 
	fetched_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (class_id, assignment_id, username)
);
CREATE TABLE exchange_submissions (
	id INTEGER NOT NULL, 
	"key" VARCHAR(32) NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	release_version INTEGER NOT NULL, 
	submitted_at DATETIME NOT NULL, 
	idempotency_key VARCHAR(64) NOT NULL, 
	manifest JSON NOT NULL, 
	total_bytes INTEGER NOT NULL, 
	chosen BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username, idempotency_key), 
	UNIQUE ("key")
);
CREATE INDEX ix_exchange_submissions_student ON exchange_submissions (class_id, assignment_id, username);
CREATE TABLE exchange_extensions (
	id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	due_at DATETIME NOT NULL, 
	granted_by VARCHAR(32) NOT NULL, 
	granted_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (class_id, assignment_id, username)
);
CREATE TABLE grading_sources (
	id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	release_version INTEGER NOT NULL, 
	manifest JSON NOT NULL, 
	grade_on VARCHAR(8) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (class_id, assignment_id, release_version)
);
CREATE TABLE exchange_feedback (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	released_by VARCHAR(32) NOT NULL, 
	released_at DATETIME NOT NULL, 
	manifest JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (submission_id), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id)
);
CREATE TABLE grading_jobs (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	state VARCHAR(8) NOT NULL, 
	reason VARCHAR(8) NOT NULL, 
	requested_by VARCHAR(32) NOT NULL, 
	enqueued_at DATETIME NOT NULL, 
	not_before DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	lease_owner VARCHAR(64), 
	lease_expires_at DATETIME, 
	finished_at DATETIME, 
	error TEXT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id)
);
CREATE INDEX ix_grading_jobs_claim ON grading_jobs (state, not_before);
CREATE INDEX ix_grading_jobs_submission_id ON grading_jobs (submission_id);
CREATE TABLE grading_notebooks (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	notebook VARCHAR(128) NOT NULL, 
	job_id INTEGER NOT NULL, 
	flags JSON NOT NULL, 
	executed_sha256 VARCHAR(64), 
	graded_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (submission_id, notebook), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id), 
	FOREIGN KEY(job_id) REFERENCES grading_jobs (id)
);
CREATE TABLE grading_cells (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	class_id VARCHAR(64) NOT NULL, 
	assignment_id VARCHAR(64) NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	notebook VARCHAR(128) NOT NULL, 
	grade_id VARCHAR(128) NOT NULL, 
	position INTEGER NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	max_score FLOAT NOT NULL, 
	auto_score FLOAT, 
	manual_score FLOAT, 
	override_score FLOAT, 
	comment TEXT NOT NULL, 
	job_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (submission_id, notebook, grade_id), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id), 
	FOREIGN KEY(job_id) REFERENCES grading_jobs (id)
);
CREATE INDEX ix_grading_cells_class ON grading_cells (class_id, assignment_id, username);
CREATE TABLE grading_lost_points (
	id INTEGER NOT NULL, 
	submission_id INTEGER NOT NULL, 
	notebook VARCHAR(128) NOT NULL, 
	grade_id VARCHAR(128) NOT NULL, 
	reason JSON NOT NULL, 
	job_id INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (submission_id, notebook, grade_id), 
	FOREIGN KEY(submission_id) REFERENCES exchange_submissions (id), 
	FOREIGN KEY(job_id) REFERENCES grading_jobs (id)
);
CREATE TABLE grading_changes (
	id INTEGER NOT NULL, 
	cell_id INTEGER NOT NULL, 
	field VARCHAR(16) NOT NULL, 
	old_value TEXT, 
	new_value TEXT, 
	changed_by VARCHAR(32) NOT NULL, 
	changed_at DATETIME NOT NULL, 
	reason TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(cell_id) REFERENCES grading_cells (id)
);
CREATE INDEX ix_grading_changes_cell_id ON grading_changes (cell_id);
CREATE TABLE report_activity_days (
	id INTEGER NOT NULL, 
	username VARCHAR(32) NOT NULL, 
	day DATE NOT NULL, 
	active_minutes INTEGER NOT NULL, 
	gpu_minutes INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username, day)
);
CREATE INDEX ix_report_activity_days_day ON report_activity_days (day);
CREATE TABLE report_snapshots (
	name VARCHAR(32) NOT NULL, 
	computed_at DATETIME NOT NULL, 
	body JSON NOT NULL, 
	PRIMARY KEY (name)
);
INSERT INTO org_alembic_version (version_num) VALUES ('0002');
