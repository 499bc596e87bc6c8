"""The shared resource library (资源共享): teachers' own assignments, published for others.

Unlike the built-in library (:mod:`hub.library`, folders shipped with the code), these
items are rows and blobs in the service's data: published by a teacher to their school's
or the region's library, reviewed by a curator before anyone else sees them, versioned,
used (released) by teachers of other schools, rated, and moved between centers as
checked packages.
"""
