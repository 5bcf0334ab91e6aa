/*
 * rapporteur: umbrella header. Includes every public header of librapporteur.
 */
#ifndef RAPPORTEUR_H
#define RAPPORTEUR_H

#include <rapporteur/chart.h>
#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>
#include <rapporteur/mse.h>
#include <rapporteur/recs.h>
#include <rapporteur/report.h>
#include <rapporteur/serve.h>
#include <rapporteur/sim.h>
#include <rapporteur/store.h>

#endif
