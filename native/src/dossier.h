/* Hang dossiers (dossier.c). */
#ifndef SCYTHE_DOSSIER_H
#define SCYTHE_DOSSIER_H

#include "job.h"
#include "list.h"

/* Writes the hang dossier of `job` (overrunning: `why`) into its dossier_dir, covering every live job on `jobs` (its
 * loop's, linked by their `link`). Called before the kill, under the loop lock. */
int scythe__dossier_write(const scythe_job *job, const char *why, const scythe__list *jobs);

#endif
