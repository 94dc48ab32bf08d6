# config-shipped.awk - derives the installed /etc/persistence_exporter/config.yml from
# deploy/config.example.yml: the example's text, with every top-level section except those in
# KEEP commented out line by line, so the exporter starts and serves only its own metrics.
#
# A section added to the example later (a new source kind) is commented out too, with no
# change here. Uncommenting a section means removing one leading "#" from each of its lines.
# `make install` and the Debian package install the result; the install test (tests/deb)
# runs --config.check on it.
BEGIN {
	KEEP["global"] = 1
	print "# /etc/persistence_exporter/config.yml, as installed: every source is commented out, so"
	print "# persistence_exporter starts and serves only its own metrics. Uncomment a section (remove"
	print "# one leading \"#\" from each of its lines), edit it, check the file with"
	print "#   persistence_exporter --config.file=/etc/persistence_exporter/config.yml --config.check"
	print "# and reload: systemctl reload persistence_exporter. Every key: docs/configuration.md"
	print "# (/usr/share/doc/persistence-exporter/), persistence_exporter(1)."
	print "#"
	section = ""
}

# A top-level key starts a section; comments and indented lines belong to the current one.
/^[A-Za-z_][A-Za-z0-9_]*:/ {
	section = $0
	sub(/:.*/, "", section)
}

{
	if (section == "" || section in KEEP || $0 == "")
		print
	else
		print "#" $0
}
