# subst.mk - the configured paths written into the man pages, the sample
# configuration and the systemd files at build time (included by
# etc/Makefile.am and doc/Makefile.am).  make, not configure, substitutes
# them so that "make prefix=..." or a --sysconfdir shows in what installs.
gw_subst = sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@connectordir[@]|$(pkglibdir)/connectors|g' \
	-e 's|@PDFTOPPM[@]|$(PDFTOPPM)|g' \
	-e 's|@GW_USER[@]|$(GW_USER)|g' \
	-e 's|@GW_RECEIVER_USER[@]|$(GW_RECEIVER_USER)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g'
# The recipe of every substituted file, whose first prerequisite is its .in.
gw_subst_rule = $(AM_V_GEN)$(MKDIR_P) $(@D) && $(gw_subst) $< > $@.tmp && mv $@.tmp $@
