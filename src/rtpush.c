/*-------------------------------------------------------------------------
 * rtpush.c
 *	  Module entry point: defines the settings, reserves shared memory and
 *	  registers the launcher, which starts the delivery workers.  rtpush
 *	  must be preloaded.
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "app.h"
#include "dbguard.h"
#include "install_warning.h"
#include "launcher.h"
#include "redact.h"
#include "settings.h"
#include "status.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rtpush can only be loaded through shared_preload_libraries"),
				 errhint("Add rtpush to shared_preload_libraries in postgresql.conf and restart the server.")));

	rtpush_define_settings();
	rtpush_app_init();
	rtpush_redact_init();
	rtpush_install_warning_init();
	rtpush_status_init();
	rtpush_dbguard_init();

	if (IsBinaryUpgrade)
		return;
	rtpush_register_launcher();
}
